# kind: print-statement
# line: 6
# fix: print(name)
# mention: print
name = 'Ana'
print name
