# kind: stop-iteration
# line: 6
# fix: print(next(letters, None))
letters = iter('ab')
next(letters); next(letters)
print(next(letters))
