# kind: keyword-as-name
# line: 5
# fix: course = 'Math 101'
# mention: class
class = 'Math 101'
print(class)
