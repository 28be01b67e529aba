# kind: missing-colon
# line: 6
# fix: if x > 3:
# mention: if
x = 5
if x > 3
    print('big')
