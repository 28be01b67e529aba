# kind: key-error
# line: 6
# fix:     return inventory.get(item, 0)
# mention: 'ink'
def stock(inventory, item):
    return inventory[item]


def total(inventory, items):
    return sum(stock(inventory, i) for i in items)


print(total({'pen': 2}, ['pen', 'ink']))
