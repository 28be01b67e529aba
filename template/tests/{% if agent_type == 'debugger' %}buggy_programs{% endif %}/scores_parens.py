# kind: parentheses-instead-of-brackets
# line: 6
# fix: print(scores[0])
# mention: scores
scores = [90, 80, 70]
print(scores(0))
