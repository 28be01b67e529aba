# kind: fstring-empty-braces
# line: 6
# fix: print(f"Score: {score}")
# mention: Score
score = 10
print(f"Score: {}")
