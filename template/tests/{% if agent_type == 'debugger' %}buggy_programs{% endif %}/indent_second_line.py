# kind: unexpected-indent
# line: 6
# fix: total = 0
# mention: line 5
prices = [3, 4]
    total = 0
for p in prices:
    total += p
