# kind: str-item-assignment
# line: 6
# fix: word = 'J' + word[1:]
# mention: word
word = 'java'
word[0] = 'J'
