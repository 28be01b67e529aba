# kind: pop-empty-list
# line: 7
# fix: if stack: stack.pop()
# mention: stack
stack = [1]
stack.pop()
stack.pop()
