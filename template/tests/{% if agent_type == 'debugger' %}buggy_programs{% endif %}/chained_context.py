# kind: key-error
# line: 8
# fix:     settings = {}
settings = {'mode': 'dark'}
try:
    size = int(settings['size'])
except KeyError:
    print(settings['theme'])
