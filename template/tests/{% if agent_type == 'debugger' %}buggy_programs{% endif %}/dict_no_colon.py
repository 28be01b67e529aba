# kind: dict-key-without-colon
# line: 5
# fix: ages = {'ana': 31, 'bo': 22}
# mention: dictionary
ages = {'ana': 31, 'bo'}
