# kind: not-a-package
# line: 5
# fix: import math
# mention: math
import math.sqrt
