# kind: index-out-of-range
# line: 6
# fix: print(point[1])
# mention: point
point = (3, 4)
print(point[2])
