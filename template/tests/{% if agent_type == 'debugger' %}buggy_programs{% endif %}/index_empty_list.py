# kind: index-out-of-range
# line: 5
# fix: if scores: print(scores[0])
scores = []
print(scores[0])
