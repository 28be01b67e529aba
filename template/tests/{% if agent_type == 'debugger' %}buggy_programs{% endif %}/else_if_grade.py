# kind: else-if
# line: 8
# fix: elif score >= 50:
# mention: elif
score = 72
if score >= 90:
    print('A')
else if score >= 50:
    print('pass')
else:
    print('fail')
