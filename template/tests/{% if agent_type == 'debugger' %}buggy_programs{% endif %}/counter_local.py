# kind: unbound-local
# line: 9
# fix:     return counter + 1
# mention: counter
counter = 0


def increment():
    counter += 1
    return counter


increment()
