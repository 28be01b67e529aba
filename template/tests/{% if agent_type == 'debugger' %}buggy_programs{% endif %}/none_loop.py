# kind: none-not-iterable
# line: 6
# fix: for key in settings.get('keys', []):
# mention: settings
settings = {'name': 'x'}
for key in settings.get('keys'):
    print(key)
