# kind: repeated-keyword-argument
# line: 5
# fix: print('a', 'b', sep='-')
# mention: twice
print('a', 'b', sep='', sep='-')
