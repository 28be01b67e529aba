# kind: used-before-assignment
# line: 5
# fix: greeting = 'hi'
# mention: greeting
print(greeting)
greeting = 'hi'
