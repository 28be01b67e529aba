# kind: def-without-parentheses
# line: 5
# fix: def greet():
# mention: greet
def greet:
    print('hi')
