# kind: missing-colon
# line: 5
# fix: def greet(name):
# mention: def
def greet(name)
    print('Hello', name)


greet('Ana')
