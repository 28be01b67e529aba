# kind: off-by-one
# line: 7
# fix: for i in range(len(names)):
# mention: names
names = ['ana', 'bo', 'cy']
for i in range(len(names) + 1):
    print(names[i])
