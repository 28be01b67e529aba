# kind: assign-to-expression
# line: 6
# fix: y = x + 1
# mention: x + 1
x = 4
x + 1 = y
