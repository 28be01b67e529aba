# kind: name-typo
# line: 5
# fix: print('hello')
# mention: print
pritn('hello')
