# kind: no-len
# line: 6
# fix: digits = len(str(number))
# mention: int
number = 12345
digits = len(number)
