# kind: expected-indent
# line: 7
# fix:     print('big')
# mention: 'if' statement
x = 10
if x > 5:
print('big')
