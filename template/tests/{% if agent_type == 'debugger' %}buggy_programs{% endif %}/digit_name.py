# kind: name-starts-with-digit
# line: 5
# fix: first_place = 'Ana'
# mention: 1st_place
1st_place = 'Ana'
print(1st_place)
