# kind: index-with-wrong-type
# line: 7
# fix:     print(name)
# mention: names
names = ['ana', 'bo']
for name in names:
    print(names[name])
