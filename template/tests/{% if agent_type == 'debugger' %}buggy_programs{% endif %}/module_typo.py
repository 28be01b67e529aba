# kind: module-not-found
# line: 4
# fix: import math
import maths
print(maths.pi)
