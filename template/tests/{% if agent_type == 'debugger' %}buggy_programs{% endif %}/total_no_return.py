# kind: none-from-no-return
# line: 9
# fix:     return price * 1.2
# mention: add_tax
def add_tax(price):
    result = price * 1.2


total = add_tax(10) + 5
print(total)
