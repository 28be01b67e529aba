# kind: none-operand
# line: 7
# fix: price = prices.get('tea', 0)
# mention: *
prices = {'coffee': 3}
price = prices.get('tea')
print(price * 2)
