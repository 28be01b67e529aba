# kind: expected-indent
# line: 5
# fix:     print(i)
for i in range(3):
print(i)
