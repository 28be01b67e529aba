# kind: duplicate-parameter
# line: 5
# fix: def area(width, height):
# mention: side
def area(side, side):
    return side * side
