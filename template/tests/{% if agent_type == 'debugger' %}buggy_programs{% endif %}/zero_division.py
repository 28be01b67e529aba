# kind: zero-division
# line: 6
# fix:     return sum(values) / len(values) if values else 0
# mention: len(values)
def average(values):
    return sum(values) / len(values)


print(average([]))
