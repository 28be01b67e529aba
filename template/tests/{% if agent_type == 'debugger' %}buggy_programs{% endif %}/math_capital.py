# kind: missing-import
# line: 6
# fix: import math
# mention: import math
angle = 0
print(Math.cos(angle))
