# kind: index-with-float
# line: 6
# fix: middle = items[len(items) // 2]
# mention: items
items = [1, 2, 3, 4]
middle = items[len(items) / 2]
