# kind: missing-comma
# line: 9
# fix: print(add(3, 4))
# mention: 4
def add(a, b):
    return a + b


print(add(3 4))
