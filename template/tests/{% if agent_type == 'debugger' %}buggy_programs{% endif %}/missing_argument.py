# kind: missing-argument
# line: 9
# fix: print(add(2, 3))
# mention: b
def add(a, b):
    return a + b


print(add(2))
