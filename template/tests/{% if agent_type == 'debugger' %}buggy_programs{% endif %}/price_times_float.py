# kind: sequence-times-non-int
# line: 6
# fix: total = float(price) * 1.5
# mention: price
price = '3'
total = price * 1.5
