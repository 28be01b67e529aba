# kind: none-not-subscriptable
# line: 9
# fix:     return scores
def load_scores():
    scores = [90, 80]


first = load_scores()
print(first[0])
