# kind: shadowed-builtin
# line: 6
# fix: numbers = [4, 5, 6]
# mention: list
list = [1, 2, 3]
numbers = list((4, 5, 6))
print(numbers)
