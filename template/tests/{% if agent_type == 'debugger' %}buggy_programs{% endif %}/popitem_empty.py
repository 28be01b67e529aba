# kind: popitem-empty-dict
# line: 6
# fix: if cart: cart.popitem()
# mention: popitem
cart = {}
cart.popitem()
