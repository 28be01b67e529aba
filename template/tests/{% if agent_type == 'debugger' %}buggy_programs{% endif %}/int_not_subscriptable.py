# kind: not-subscriptable
# line: 6
# fix: print(str(number)[0])
# mention: number
number = 1234
print(number[0])
