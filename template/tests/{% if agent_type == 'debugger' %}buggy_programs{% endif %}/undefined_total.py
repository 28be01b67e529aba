# kind: name-undefined
# line: 6
# fix: print(subtotal)
# mention: grand_total
subtotal = 12
print(grand_total)
