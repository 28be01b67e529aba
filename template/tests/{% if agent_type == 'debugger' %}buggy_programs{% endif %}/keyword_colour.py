# kind: unexpected-keyword
# line: 9
# fix: greet('Ana')
# mention: colour
def greet(name):
    print('Hello', name)


greet('Ana', colour='red')
