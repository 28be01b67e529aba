# kind: none-from-no-return
# line: 10
# fix:     return scores
# mention: load_scores
def load_scores():
    scores = [90, 80]


first = load_scores()
print(first[0])
