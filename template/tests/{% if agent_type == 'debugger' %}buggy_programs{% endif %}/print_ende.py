# kind: unexpected-keyword-typo
# line: 5
# fix: print('a', end='')
# mention: end
print('a', ende='')
