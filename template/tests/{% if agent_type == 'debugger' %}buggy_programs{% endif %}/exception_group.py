# kind: zero-division
# line: 8
# fix:     return [1 / x for x in xs if x]
def check(xs):
    errors = []
    for x in xs:
        try:
            1 / x
        except ZeroDivisionError as e:
            errors.append(e)
    raise ExceptionGroup('checks failed', errors)


check([0, 0])
