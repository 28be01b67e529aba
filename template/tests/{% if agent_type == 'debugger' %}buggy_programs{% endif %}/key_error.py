# kind: key-error
# line: 5
# fix: print(ages.get('bob', 0))
ages = {'ana': 31, 'cy': 22}
print(ages['bob'])
