# kind: unterminated-string
# line: 5
# fix: name = 'Ann'
# mention: Ann
name = 'Ann
print(name)
