# kind: too-many-arguments
# line: 9
# fix: print(square(4))
# mention: square
def square(x):
    return x * x


print(square(4, 2))
