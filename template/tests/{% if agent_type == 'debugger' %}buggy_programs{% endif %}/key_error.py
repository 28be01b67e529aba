# kind: key-error
# line: 6
# fix: print(ages.get('bob', 0))
# mention: bob
ages = {'ana': 31, 'cy': 22}
print(ages['bob'])
