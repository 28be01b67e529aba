# kind: positional-after-keyword
# line: 5
# fix: print('a', 'b', sep='-')
# mention: name=value
print(sep='-', 'a', 'b')
