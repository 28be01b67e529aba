# kind: dangling-operator
# line: 6
# fix: total = price + 2
# mention: +
price = 3
total = price +
print(total)
