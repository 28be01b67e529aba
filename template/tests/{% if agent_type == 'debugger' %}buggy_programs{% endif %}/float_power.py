# kind: float-overflow
# line: 6
# fix: growth = 2 ** 10000
# mention: float
growth = 2.0
growth = growth ** 10000
