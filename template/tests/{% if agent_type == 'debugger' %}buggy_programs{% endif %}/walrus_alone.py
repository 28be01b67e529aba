# kind: walrus-statement
# line: 5
# fix: count = 0
# mention: count
count := 0
print(count)
