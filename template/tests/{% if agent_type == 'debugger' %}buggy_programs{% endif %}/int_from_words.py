# kind: int-parse
# line: 5
# fix: age = int('42')
answer = 'forty-two'
age = int(answer)
