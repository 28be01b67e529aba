# kind: int-of-decimal-text
# line: 6
# fix: quantity = float('3.5')
# mention: 3.5
text = '3.5'
quantity = int(text)
