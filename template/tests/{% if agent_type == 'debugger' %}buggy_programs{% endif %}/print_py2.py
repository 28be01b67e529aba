# kind: print-statement
# line: 5
# fix: print('Hello, world')
# mention: print
print 'Hello, world'
