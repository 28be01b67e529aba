# kind: method-of-other-type
# line: 6
# fix: parts = line.split(',')
# mention: str
lines = ['a,b', 'c,d']
parts = lines.split(',')
