# kind: loop-over-number
# line: 6
# fix: for i in range(count):
# mention: int
count = 3
for i in count:
    print(i)
