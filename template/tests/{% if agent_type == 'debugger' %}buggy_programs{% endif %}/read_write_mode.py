# kind: file-wrong-mode
# line: 6
# fix: with open('log.txt') as log:
# mention: readable
with open('log.txt', 'w') as log:
    print(log.read())
