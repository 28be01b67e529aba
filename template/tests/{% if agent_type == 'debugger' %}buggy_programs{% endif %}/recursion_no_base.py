# kind: recursion-no-base-case
# line: 6
# fix:     return 1 if n == 0 else n * factorial(n - 1)
# mention: factorial
def factorial(n):
    return n * factorial(n - 1)


print(factorial(5))
