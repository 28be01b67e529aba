# kind: python2-name
# line: 5
# fix: name = input('Name? ')
# mention: input
name = raw_input('Name? ')
print(name)
