# kind: str-int-concat
# line: 5
# fix: print('You are ' + str(age) + ' years old')
age = 17
print('You are ' + age + ' years old')
