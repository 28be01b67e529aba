# kind: str-immutable
# line: 6
# fix: name = name + 'a'
# mention: append
name = 'An'
name.append('a')
