# kind: file-not-found
# line: 5
# fix: with open('data.txt') as handle:
# mention: missing_scores.txt
with open('missing_scores.txt') as handle:
    print(handle.read())
