# kind: zero-division
# line: 5
# fix:     return sum(values) / len(values) if values else 0
def average(values):
    return sum(values) / len(values)


print(average([]))
