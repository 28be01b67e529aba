# kind: unmatched-closing-bracket
# line: 5
# fix: print('total:', 3 + 4)
# mention: )
print('total:', 3 + 4))
