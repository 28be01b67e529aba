# kind: none-from-in-place
# line: 7
# fix: names.append('cy')
# mention: append
names = ['ana', 'bo']
names = names.append('cy')
print(names[0])
