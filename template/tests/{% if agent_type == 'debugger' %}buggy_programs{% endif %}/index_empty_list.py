# kind: index-out-of-range
# line: 6
# fix: if scores: print(scores[0])
# mention: scores
scores = []
print(scores[0])
