# kind: missing-condition
# line: 6
# fix: if x > 0:
# mention: if
x = 3
if :
    print(x)
