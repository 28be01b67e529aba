# kind: unexpected-keyword
# line: 8
# fix: greet(name='Ana')
def greet(name):
    print('Hello', name)


greet(nmae='Ana')
