# kind: assign-in-condition
# line: 5
# fix: if answer == 42:
answer = 42
if answer = 42:
    print('yes')
