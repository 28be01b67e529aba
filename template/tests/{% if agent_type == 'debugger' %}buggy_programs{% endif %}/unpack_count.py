# kind: too-many-values
# line: 6
# fix: name, age, city = person
# mention: name, age
person = ('ana', 31, 'lima')
name, age = person
