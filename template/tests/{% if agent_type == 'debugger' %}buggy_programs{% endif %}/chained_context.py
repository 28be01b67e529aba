# kind: key-error
# line: 9
# fix:     settings = {}
# mention: 'theme'
settings = {'mode': 'dark'}
try:
    size = int(settings['size'])
except KeyError:
    print(settings['theme'])
