# kind: quote-inside-string
# line: 5
# fix: print("it's fine")
# mention: it's
print('it's fine')
