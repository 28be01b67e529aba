# kind: empty-max
# line: 6
# fix: best = max(scores, default=0)
# mention: max
scores = []
best = max(scores)
