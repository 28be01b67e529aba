# kind: too-many-arguments
# line: 8
# fix: print(square(4))
def square(x):
    return x * x


print(square(4, 2))
