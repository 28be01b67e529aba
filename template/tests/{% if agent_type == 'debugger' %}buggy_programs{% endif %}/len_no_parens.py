# kind: call-without-parentheses
# line: 6
# fix: size = len(names)
# mention: len
names = ['ana', 'bo']
size = 2 + len names
