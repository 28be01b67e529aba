# kind: list-assignment-out-of-range
# line: 7
# fix:     squares.append(i * i)
# mention: squares
squares = []
for i in range(3):
    squares[i] = i * i
