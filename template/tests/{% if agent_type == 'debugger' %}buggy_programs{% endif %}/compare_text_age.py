# kind: compare-text-number
# line: 6
# fix: if int(age) > 18:
# mention: age
age = '20'
if age > 18:
    print('adult')
