# kind: keyword-as-name
# line: 5
# fix: done = 1
# mention: True
True = 1
print(True)
