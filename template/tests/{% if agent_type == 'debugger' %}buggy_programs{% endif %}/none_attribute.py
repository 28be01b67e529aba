# kind: none-from-in-place
# line: 7
# fix: numbers.sort()
# mention: sort
numbers = [3, 1, 2]
numbers = numbers.sort()
numbers.append(4)
