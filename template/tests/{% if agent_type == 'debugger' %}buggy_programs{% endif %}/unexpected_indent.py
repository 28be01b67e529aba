# kind: unexpected-indent
# line: 5
# fix: print(x)
x = 1
    print(x)
