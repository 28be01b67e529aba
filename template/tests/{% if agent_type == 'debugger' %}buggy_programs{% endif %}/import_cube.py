# kind: import-name
# line: 5
# fix: from math import pow
# mention: cube
from math import cube

print(cube(3))
