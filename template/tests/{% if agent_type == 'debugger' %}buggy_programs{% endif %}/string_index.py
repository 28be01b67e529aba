# kind: index-out-of-range
# line: 6
# fix: print(word[len(word) - 1])
word = 'python'
position = 6
print(word[position])
