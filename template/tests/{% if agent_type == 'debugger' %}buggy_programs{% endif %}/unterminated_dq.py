# kind: unterminated-string
# line: 5
# fix: print("hello")
# mention: hello
print("hello)
