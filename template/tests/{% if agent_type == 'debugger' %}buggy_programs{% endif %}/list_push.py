# kind: wrong-method-name
# line: 6
# fix: stack.append(3)
# mention: append
stack = [1, 2]
stack.push(3)
