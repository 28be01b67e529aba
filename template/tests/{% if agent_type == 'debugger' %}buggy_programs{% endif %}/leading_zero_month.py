# kind: leading-zero
# line: 5
# fix: month = 8
# mention: 08
month = 08
print(month)
