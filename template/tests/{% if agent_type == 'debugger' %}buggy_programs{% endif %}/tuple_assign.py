# kind: immutable-item-assignment
# line: 6
# fix: point = (5, 2)
# mention: point
point = (1, 2)
point[0] = 5
