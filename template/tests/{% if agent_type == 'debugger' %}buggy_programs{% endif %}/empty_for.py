# kind: empty-block
# line: 6
# fix:     print(item)
# mention: 'for' statement
items = [1, 2, 3]
for item in items:
    # print each item here
