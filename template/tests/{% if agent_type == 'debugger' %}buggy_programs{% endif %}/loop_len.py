# kind: loop-over-number
# line: 6
# fix: for i in range(len(names)):
# mention: len
names = ['ana', 'bo']
for i in len(names):
    print(i)
