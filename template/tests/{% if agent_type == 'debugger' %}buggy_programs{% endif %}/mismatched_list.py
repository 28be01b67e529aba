# kind: mismatched-bracket
# line: 5
# fix: numbers = [1, 2, 3]
# mention: [
numbers = [1, 2, 3)
print(sum(numbers))
