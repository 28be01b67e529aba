# kind: int-too-large-for-c
# line: 6
# fix: row = [0] * 10
# mention: float
size = 10 ** 20
row = [0] * size
