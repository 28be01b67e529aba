# kind: unsupported-operand
# line: 5
# fix: total = int(text) + 5
text = '12'
total = 5 + text
print(total)
