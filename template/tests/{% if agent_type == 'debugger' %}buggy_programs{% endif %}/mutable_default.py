# kind: mutable-default
# line: 10
# fix: def add_item(item, basket=None):
def add_item(item, basket=[]):
    basket.append(item)
    return basket


add_item('egg')
assert add_item('milk') == ['milk'], add_item('tea')
