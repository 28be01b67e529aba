# kind: index-out-of-range
# line: 7
# fix: print(word[len(word) - 1])
# mention: word
word = 'python'
position = 6
print(word[position])
