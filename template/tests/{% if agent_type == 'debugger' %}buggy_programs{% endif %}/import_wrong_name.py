# kind: import-name-typo
# line: 5
# fix: from math import sqrt
# mention: squareroot
from math import squareroot
