# kind: text-arithmetic
# line: 6
# fix: total = int(text) + 5
# mention: str
text = '12'
total = 5 + text
print(total)
