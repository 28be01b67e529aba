# kind: name-from-module
# line: 7
# fix: root = math.sqrt(16)
# mention: math.sqrt
import math

root = sqrt(16)
print(root)
