# kind: fstring-assignment
# line: 6
# fix: print(f"{total}")
# mention: total
total = 5
print(f"{total = 7}")
