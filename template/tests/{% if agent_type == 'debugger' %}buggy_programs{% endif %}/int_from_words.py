# kind: int-parse
# line: 6
# fix: age = int('42')
# mention: forty-two
answer = 'forty-two'
age = int(answer)
