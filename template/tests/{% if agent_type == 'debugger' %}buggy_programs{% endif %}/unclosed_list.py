# kind: unclosed-bracket
# line: 5
# fix: fruits = ['apple', 'pear', 'plum']
# mention: [
fruits = ['apple', 'pear', 'plum'
for fruit in fruits:
    print(fruit)
