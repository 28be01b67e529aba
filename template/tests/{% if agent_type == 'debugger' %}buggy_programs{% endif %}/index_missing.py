# kind: index-missing-item
# line: 6
# fix: position = names.index('Ana')
# mention: Zoe
names = ['Ana', 'Bo']
position = names.index('Zoe')
