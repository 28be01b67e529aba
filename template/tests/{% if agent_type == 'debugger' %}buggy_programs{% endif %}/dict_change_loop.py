# kind: dict-changed-during-iteration
# line: 6
# fix: for name in list(stock):
# mention: dictionary
stock = {'pen': 0, 'ink': 2}
for name in stock:
    if stock[name] == 0:
        del stock[name]
