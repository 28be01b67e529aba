# kind: builtin-arguments
# line: 5
# fix: name = input('Name please? ')
# mention: input
name = input('Name', 'please')
