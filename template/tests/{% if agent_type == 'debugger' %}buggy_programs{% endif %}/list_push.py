# kind: attribute-on-builtin
# line: 5
# fix: stack.append(3)
stack = [1, 2]
stack.push(3)
