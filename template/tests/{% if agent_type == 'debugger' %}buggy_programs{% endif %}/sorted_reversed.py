# kind: unexpected-keyword-typo
# line: 6
# fix: print(sorted(nums, reverse=True))
# mention: reverse
nums = [3, 1, 2]
print(sorted(nums, reversed=True))
