# kind: missing-colon
# line: 6
# fix: while count < 5:
# mention: while
count = 0
while count < 5
    print(count)
    count += 1
