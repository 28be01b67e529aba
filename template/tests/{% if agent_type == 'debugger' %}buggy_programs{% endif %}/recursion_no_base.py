# kind: recursion
# line: 5
# fix:     return 1 if n == 0 else n * factorial(n - 1)
def factorial(n):
    return n * factorial(n - 1)


print(factorial(5))
