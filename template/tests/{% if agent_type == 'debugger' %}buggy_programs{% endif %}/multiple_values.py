# kind: multiple-values
# line: 9
# fix: greet('Ana', greeting='Hey')
# mention: name
def greet(name, greeting='Hi'):
    print(greeting, name)


greet('Ana', name='Bo')
