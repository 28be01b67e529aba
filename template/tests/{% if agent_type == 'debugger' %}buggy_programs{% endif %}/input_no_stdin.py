# kind: input-eof
# line: 5
# fix: name = 'Ana'
# mention: input
name = input('What is your name? ')
print('Hi', name)
