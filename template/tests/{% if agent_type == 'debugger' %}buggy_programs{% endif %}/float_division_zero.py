# kind: zero-division
# line: 7
# fix: average = total / count if count else 0.0
# mention: count
total = 10.0
count = 0
average = total / count
