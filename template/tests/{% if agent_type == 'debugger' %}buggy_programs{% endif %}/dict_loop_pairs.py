# kind: loop-dict-without-items
# line: 6
# fix: for name, age in ages.items():
# mention: items
ages = {'ana': 31, 'bob': 22}
for name, age in ages:
    print(name, age)
