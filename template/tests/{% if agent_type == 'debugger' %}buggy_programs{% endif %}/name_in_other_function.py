# kind: name-undefined
# line: 9
# fix: return count + 1
def setup():
    count = 10


def next_count():
    return count_value + 1


setup()
print(next_count())
