# kind: stop-iteration
# line: 7
# fix: print(next(letters, None))
# mention: next
letters = iter('ab')
next(letters); next(letters)
print(next(letters))
