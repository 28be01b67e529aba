# kind: unbound-local
# line: 9
# fix: score = score_so_far + 1
# mention: score
score = 0


def add_point():
    score = score + 1
    return score


add_point()
