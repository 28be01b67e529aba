# kind: smart-quotes
# line: 5
# fix: print("Hello")
# mention: “
print(“Hello”)
