# kind: orphan-else
# line: 8
# fix: else:
# mention: else
x = 5
if x > 3:
    print('big')
    else:
        print('small')
