# kind: zero-negative-power
# line: 6
# fix: factor = rate ** -1 if rate else 0
# mention: **
rate = 0
factor = rate ** -1
