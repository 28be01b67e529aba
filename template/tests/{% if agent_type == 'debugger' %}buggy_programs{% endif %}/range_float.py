# kind: float-as-integer
# line: 6
# fix: for i in range(total // 2):
# mention: total
total = 10
for i in range(total / 2):
    print(i)
