# kind: unclosed-bracket
# line: 5
# fix: print(max(3, 4))
# mention: (
print(max(3, 4)
print('done')
