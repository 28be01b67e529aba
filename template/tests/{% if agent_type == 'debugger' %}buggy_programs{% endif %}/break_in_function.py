# kind: break-outside-loop
# line: 7
# fix:         return n
# mention: break
def check(n):
    if n > 3:
        break
    print(n)


for i in range(5):
    check(i)
