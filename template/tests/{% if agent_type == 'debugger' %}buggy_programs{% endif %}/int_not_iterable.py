# kind: not-iterable
# line: 5
# fix: for i in range(count):
count = 3
for i in count:
    print(i)
