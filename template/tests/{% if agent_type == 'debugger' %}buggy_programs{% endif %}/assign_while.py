# kind: assign-in-condition
# line: 6
# fix: while guess == 3:
# mention: guess
guess = 3
while guess = 3:
    guess = guess + 1
