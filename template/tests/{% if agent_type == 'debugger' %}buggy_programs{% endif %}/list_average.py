# kind: builtin-type-attribute
# line: 6
# fix: print(sum(scores) / len(scores))
# mention: average
scores = [3, 4, 5]
print(scores.average())
