# kind: write-non-str
# line: 6
# fix:     out.write(str(42))
# mention: int
with open('score.txt', 'w') as out:
    out.write(42)
