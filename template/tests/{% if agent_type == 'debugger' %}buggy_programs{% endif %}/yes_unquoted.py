# kind: bare-word-not-string
# line: 6
# fix: if answer == 'yes':
# mention: yes
answer = 'yes'
if answer == yes:
    print('ok')
