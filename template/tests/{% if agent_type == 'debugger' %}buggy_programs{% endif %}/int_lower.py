# kind: method-of-other-type
# line: 6
# fix: print(str(code).lower())
# mention: str
code = 42
print(code.lower())
