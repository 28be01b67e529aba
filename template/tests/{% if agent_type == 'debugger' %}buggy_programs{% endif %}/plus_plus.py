# kind: foreign-operator
# line: 6
# fix: count += 1
# mention: ++
count = 0
count++
print(count)
