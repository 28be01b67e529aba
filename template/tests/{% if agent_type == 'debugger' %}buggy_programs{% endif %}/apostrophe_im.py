# kind: quote-inside-string
# line: 5
# fix: print("I'm here")
# mention: I'm
print('I'm here')
