# kind: key-near-miss
# line: 6
# fix: print(rooms[1])
# mention: '1'
rooms = {1: 'kitchen', 2: 'hall'}
print(rooms['1'])
