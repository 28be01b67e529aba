# kind: fstring-brace
# line: 6
# fix: print(f"Hi {name}")
# mention: {name
name = 'Ana'
print(f"Hi {name")
