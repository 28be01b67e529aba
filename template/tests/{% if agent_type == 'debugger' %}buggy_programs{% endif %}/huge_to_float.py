# kind: int-to-float-overflow
# line: 6
# fix: print(big // 3)
# mention: float
big = 10 ** 400
print(big / 3)
