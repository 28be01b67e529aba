# kind: missing-argument
# line: 8
# fix: print(add(2, 3))
def add(a, b):
    return a + b


print(add(2))
