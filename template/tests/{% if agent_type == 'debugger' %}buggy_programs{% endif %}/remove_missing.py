# kind: remove-missing-item
# line: 6
# fix: if 'kiwi' in fruits: fruits.remove('kiwi')
# mention: kiwi
fruits = ['apple', 'pear']
fruits.remove('kiwi')
