# kind: str-int-concat
# line: 6
# fix: print('You are ' + str(age) + ' years old')
# mention: int
age = 17
print('You are ' + age + ' years old')
