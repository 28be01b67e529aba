# kind: function-subscripted
# line: 6
# fix: size = len(names)
# mention: len
names = ['ana', 'bo']
size = len[names]
