# kind: import-name
# line: 4
# fix: from math import sqrt
from math import squareroot
