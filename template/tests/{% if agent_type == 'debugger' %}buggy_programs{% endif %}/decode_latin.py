# kind: unicode-decode
# line: 8
# fix: with open('names.txt', encoding='latin-1') as f:
# mention: utf-8
with open('names.txt', 'wb') as f:
    f.write('Jos\xe9'.encode('latin-1'))
with open('names.txt', encoding='utf-8') as f:
    print(f.read())
