# kind: not-enough-values
# line: 6
# fix: first, last = 'Ada Lovelace'.split()
# mention: first, last
full = 'Ada'
first, last = full.split()
