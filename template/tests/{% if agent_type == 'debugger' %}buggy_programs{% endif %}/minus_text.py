# kind: unary-operand
# line: 6
# fix: print(-int(balance))
# mention: str
balance = '100'
print(-balance)
