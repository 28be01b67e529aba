# kind: closed-file
# line: 7
# fix:     text = handle.read()
# mention: closed
with open('notes.txt', 'w') as handle:
    handle.write('hi')
handle.write('more')
