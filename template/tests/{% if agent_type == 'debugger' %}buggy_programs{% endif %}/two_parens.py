# kind: missing-multiplication
# line: 5
# fix: area = 2 * (3 + 4)
# mention: 2
area = 2(3 + 4)
print(area)
