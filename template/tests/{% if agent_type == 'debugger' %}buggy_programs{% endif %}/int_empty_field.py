# kind: int-of-empty-text
# line: 6
# fix: second = int(values[1] or 0)
# mention: ''
values = '4,,5'.split(',')
second = int(values[1])
