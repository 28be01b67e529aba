# kind: name-undefined
# line: 4
# fix: greeting = 'hi'
print(greeting)
greeting = 'hi'
