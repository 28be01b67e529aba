# kind: invisible-character
# line: 7
# fix: total = price + tax
# mention: U+00A0
price = 10
tax = 2
total = price + tax
