# kind: unterminated-string
# line: 4
# fix: print("it's fine")
print('it's fine')
