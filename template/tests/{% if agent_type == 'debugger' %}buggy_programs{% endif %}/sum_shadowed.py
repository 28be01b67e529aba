# kind: shadowed-builtin
# line: 7
# fix: total = 0
# mention: sum
sum = 0
scores = [3, 4]
print(sum(scores))
