# kind: missing-colon
# line: 5
# fix: if x > 3:
x = 5
if x > 3
    print('big')
