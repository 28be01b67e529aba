# kind: loop-over-function
# line: 6
# fix: for name in ages.keys():
# mention: keys
ages = {'ana': 31}
for name in ages.keys:
    print(name)
