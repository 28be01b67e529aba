# kind: int-too-many-digits
# line: 6
# fix: print(len(str(big)))
# mention: 4300
big = 10 ** 5000
print(big)
