# kind: module-typo
# line: 5
# fix: import math
# mention: math
import maths
print(maths.pi)
