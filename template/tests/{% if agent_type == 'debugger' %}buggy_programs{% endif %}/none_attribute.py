# kind: none-attribute
# line: 6
# fix: numbers.sort()
numbers = [3, 1, 2]
numbers = numbers.sort()
numbers.append(4)
