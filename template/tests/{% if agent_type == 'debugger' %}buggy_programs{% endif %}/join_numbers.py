# kind: join-non-str
# line: 6
# fix: print(', '.join(str(n) for n in numbers))
# mention: int
numbers = [1, 2, 3]
print(', '.join(numbers))
