# kind: not-callable
# line: 5
# fix: numbers = [4, 5, 6]
list = [1, 2, 3]
numbers = list((4, 5, 6))
print(numbers)
