# kind: assertion
# line: 6
# fix: assert total == 9
# mention: total == 10
total = sum([2, 3, 4])
assert total == 10
