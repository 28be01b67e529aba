# kind: not-subscriptable
# line: 5
# fix: print(str(number)[0])
number = 1234
print(number[0])
