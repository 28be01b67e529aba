# kind: name-typo
# line: 7
# fix: total = total + n
# mention: totl
total = 0
for n in [3, 4, 5]:
    total = totl + n
print(total)
