# kind: assign-to-call
# line: 6
# fix: size = len(names)
# mention: len(names)
names = ['ana', 'bo']
len(names) = size
