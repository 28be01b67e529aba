# kind: float-parse
# line: 4
# fix: price = float('3.50')
price = float('3,50')
