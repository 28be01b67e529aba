# kind: none-attribute
# line: 6
# fix: print(config.get('name', '').upper())
# mention: upper
config = {'city': 'Lima'}
print(config.get('name').upper())
