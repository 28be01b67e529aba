# kind: float-parse
# line: 6
# fix: weight = float('12')
# mention: 12kg
text = '12kg'
weight = float(text)
