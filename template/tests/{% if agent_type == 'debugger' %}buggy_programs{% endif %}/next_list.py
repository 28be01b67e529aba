# kind: not-an-iterator
# line: 6
# fix: print(next(iter(colors)))
# mention: list
colors = ['red', 'blue']
print(next(colors))
