# kind: format-wrong-type
# line: 6
# fix: print(f'{float(price):.2f}')
# mention: str
price = '3.5'
print(f'{price:.2f}')
