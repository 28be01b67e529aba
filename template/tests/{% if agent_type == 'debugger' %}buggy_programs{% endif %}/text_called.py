# kind: not-callable
# line: 6
# fix: print(greeting)
# mention: str
greeting = 'hello'
greeting()
