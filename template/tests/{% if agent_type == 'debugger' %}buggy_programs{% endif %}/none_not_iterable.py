# kind: none-from-no-return
# line: 10
# fix:     return evens
# mention: evens
def evens(xs):
    result = [x for x in xs if x % 2 == 0]
    print(result)


for n in evens([1, 2, 4]):
    print(n)
