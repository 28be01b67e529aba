# kind: off-by-one
# line: 8
# fix: while i < len(items):
# mention: items
items = ['a', 'b', 'c']
i = 0
while i <= len(items):
    print(items[i])
    i += 1
