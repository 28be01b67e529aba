# kind: non-default-after-default
# line: 5
# fix: def greet(name, greeting='hi'):
# mention: default
def greet(greeting='hi', name):
    print(greeting, name)
