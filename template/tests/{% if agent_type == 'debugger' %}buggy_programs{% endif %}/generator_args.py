# kind: generator-needs-parentheses
# line: 6
# fix: total = sum((n for n in nums), 10)
# mention: for
nums = [1, 2, 3]
total = sum(n for n in nums, 10)
