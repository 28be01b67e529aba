# kind: math-domain
# line: 8
# fix: root = math.sqrt(abs(value))
# mention: sqrt
import math

value = -4
root = math.sqrt(value)
