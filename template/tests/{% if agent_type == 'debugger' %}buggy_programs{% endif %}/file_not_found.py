# kind: file-not-found
# line: 4
# fix: with open('data.txt') as handle:
with open('missing_scores.txt') as handle:
    print(handle.read())
