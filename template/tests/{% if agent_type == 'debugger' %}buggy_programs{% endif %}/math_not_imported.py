# kind: missing-import
# line: 6
# fix: import math
# mention: import math
radius = 2
area = math.pi * radius ** 2
print(area)
