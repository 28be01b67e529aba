# kind: float-comma
# line: 5
# fix: price = float('3.50')
# mention: 3,50
price = float('3,50')
