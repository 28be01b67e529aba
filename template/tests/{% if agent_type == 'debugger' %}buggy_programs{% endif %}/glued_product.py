# kind: implicit-multiplication
# line: 6
# fix: y = 3 * x + 1
# mention: 3x
x = 2
y = 3x + 1
print(y)
