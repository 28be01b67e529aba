# kind: hyphen-in-name
# line: 5
# fix: first_name = 'Ana'
# mention: first-name
first-name = 'Ana'
print(first-name)
