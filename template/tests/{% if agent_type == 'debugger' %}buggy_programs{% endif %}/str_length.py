# kind: wrong-method-name
# line: 6
# fix: print(len(text))
# mention: len
text = 'hello'
print(text.length())
