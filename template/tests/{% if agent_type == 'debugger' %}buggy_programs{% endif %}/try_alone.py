# kind: try-without-except
# line: 7
# fix: except ValueError:
# mention: try
try:
    number = int('12')
print(number)
