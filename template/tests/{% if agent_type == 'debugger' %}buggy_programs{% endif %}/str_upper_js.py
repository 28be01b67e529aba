# kind: wrong-method-name
# line: 6
# fix: print(title.upper())
# mention: upper
title = 'python'
print(title.toUpperCase())
