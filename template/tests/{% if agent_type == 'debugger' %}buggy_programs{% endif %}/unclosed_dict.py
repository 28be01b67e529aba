# kind: unclosed-bracket
# line: 5
# fix: ages = {'ana': 31, 'bo': 22}
# mention: {
ages = {'ana': 31,
        'bo': 22
print(ages)
