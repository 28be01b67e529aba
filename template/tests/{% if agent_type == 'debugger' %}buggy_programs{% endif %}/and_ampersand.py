# kind: foreign-operator
# line: 6
# fix: if a > 0 and b > 0:
# mention: &&
a, b = 1, 2
if a > 0 && b > 0:
    print('both')
