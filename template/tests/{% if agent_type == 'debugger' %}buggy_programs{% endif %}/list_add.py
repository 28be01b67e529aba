# kind: wrong-method-name
# line: 6
# fix: numbers.append(4)
# mention: append
numbers = [1, 2, 3]
numbers.add(4)
