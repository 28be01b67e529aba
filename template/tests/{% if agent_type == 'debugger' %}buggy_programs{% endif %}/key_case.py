# kind: key-near-miss
# line: 6
# fix: print(ages['Ana'])
# mention: 'Ana'
ages = {'Ana': 31, 'Bo': 22}
print(ages['ana'])
