# kind: in-non-container
# line: 6
# fix: if 5 in numbers:
# mention: count
count = 10
if 5 in count:
    print('yes')
