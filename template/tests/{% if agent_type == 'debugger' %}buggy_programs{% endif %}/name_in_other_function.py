# kind: name-undefined
# line: 10
# fix: return count + 1
# mention: count_value
def setup():
    count = 10


def next_count():
    return count_value + 1


setup()
print(next_count())
