# kind: missing-operator
# line: 7
# fix: total = price * qty
# mention: price
price = 3
qty = 2
total = price qty
