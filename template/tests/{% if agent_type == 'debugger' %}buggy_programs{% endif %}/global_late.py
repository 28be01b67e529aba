# kind: global-after-use
# line: 10
# fix:     global counter
# mention: counter
counter = 0


def bump():
    print(counter)
    global counter
    counter += 1
