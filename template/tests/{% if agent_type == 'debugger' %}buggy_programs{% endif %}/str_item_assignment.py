# kind: str-item-assignment
# line: 5
# fix: word = 'J' + word[1:]
word = 'java'
word[0] = 'J'
