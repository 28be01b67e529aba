# kind: unicode-symbol
# line: 7
# fix: area = width * height
# mention: ×
width = 3
height = 4
area = width × height
