# kind: attribute-on-builtin
# line: 5
# fix: name = name + 'a'
name = 'An'
name.append('a')
