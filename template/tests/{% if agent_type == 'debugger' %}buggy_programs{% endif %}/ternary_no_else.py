# kind: if-expression-without-else
# line: 6
# fix: label = 'big' if n > 10 else 'small'
# mention: else
n = 12
label = 'big' if n > 10
print(label)
