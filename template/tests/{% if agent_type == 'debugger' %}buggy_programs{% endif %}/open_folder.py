# kind: is-a-directory
# line: 5
# fix: with open('notes.txt') as f:
# mention: folder
with open('.') as f:
    print(f.read())
