# kind: unpack-count
# line: 5
# fix: name, age, city = person
person = ('ana', 31, 'lima')
name, age = person
