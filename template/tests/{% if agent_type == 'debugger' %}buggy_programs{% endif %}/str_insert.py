# kind: str-immutable
# line: 6
# fix: word = 'P' + word
# mention: insert
word = 'ython'
word.insert(0, 'P')
