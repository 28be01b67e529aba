# kind: off-by-one
# line: 6
# fix: for i in range(len(names)):
names = ['ana', 'bo', 'cy']
for i in range(len(names) + 1):
    print(names[i])
