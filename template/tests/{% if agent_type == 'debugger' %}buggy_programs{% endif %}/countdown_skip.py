# kind: recursion-base-not-reached
# line: 8
# fix:     if n <= 0:
# mention: countdown
def countdown(n):
    if n == 0:
        return 'done'
    return countdown(n - 2)


print(countdown(5))
