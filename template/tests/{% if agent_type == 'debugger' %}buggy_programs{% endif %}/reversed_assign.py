# kind: assign-to-literal
# line: 5
# fix: count = 5
# mention: 5
5 = count
print(count)
