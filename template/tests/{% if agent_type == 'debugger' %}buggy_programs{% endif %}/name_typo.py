# kind: name-typo
# line: 6
# fix: total = total + n
total = 0
for n in [3, 4, 5]:
    total = totl + n
print(total)
