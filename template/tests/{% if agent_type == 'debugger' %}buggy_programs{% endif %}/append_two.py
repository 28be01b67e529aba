# kind: builtin-arguments
# line: 6
# fix: names.extend(['ana', 'bo'])
# mention: append
names = []
names.append('ana', 'bo')
