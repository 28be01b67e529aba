# kind: module-attribute-typo
# line: 7
# fix: print(math.sqrt(16))
# mention: sqrt
import math

print(math.squareroot(16))
