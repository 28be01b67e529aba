# kind: missing-comma
# line: 6
# fix: print('Hello', name)
# mention: name
name = 'Ana'
print('Hello' name)
