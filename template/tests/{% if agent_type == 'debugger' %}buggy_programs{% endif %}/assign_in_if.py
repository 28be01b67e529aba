# kind: assign-in-condition
# line: 6
# fix: if answer == 42:
# mention: answer
answer = 42
if answer = 42:
    print('yes')
