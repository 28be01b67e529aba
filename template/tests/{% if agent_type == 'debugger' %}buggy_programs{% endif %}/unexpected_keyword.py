# kind: unexpected-keyword-typo
# line: 9
# fix: greet(name='Ana')
# mention: nmae
def greet(name):
    print('Hello', name)


greet(nmae='Ana')
