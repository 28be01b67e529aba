# kind: not-subscriptable
# line: 6
# fix: print(str(price)[0])
# mention: float
price = 9.99
print(price[0])
