# kind: math-on-text
# line: 8
# fix: print(math.sqrt(float(value)))
# mention: str
import math

value = '16'
print(math.sqrt(value))
