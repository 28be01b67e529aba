# kind: unclosed-bracket
# line: 4
# fix: print(max(3, 4))
print(max(3, 4)
print('done')
