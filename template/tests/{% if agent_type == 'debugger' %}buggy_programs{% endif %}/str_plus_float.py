# kind: str-int-concat
# line: 6
# fix: print('Price: ' + str(price))
# mention: float
price = 2.5
print('Price: ' + price)
