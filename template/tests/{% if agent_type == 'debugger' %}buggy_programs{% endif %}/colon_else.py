# kind: missing-colon
# line: 8
# fix: else:
# mention: else
age = 15
if age >= 18:
    print('adult')
else
    print('minor')
