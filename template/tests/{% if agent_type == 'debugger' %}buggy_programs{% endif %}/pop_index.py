# kind: pop-index-out-of-range
# line: 6
# fix: items.pop(1)
# mention: items
items = ['a', 'b']
items.pop(5)
