# kind: sequence-plus-item
# line: 6
# fix: numbers.append(5)
# mention: append
numbers = [1, 2]
numbers = numbers + 5
