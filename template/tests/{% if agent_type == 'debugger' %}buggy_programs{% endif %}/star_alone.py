# kind: star-misuse
# line: 5
# fix: rest = [1, 2, 3]
# mention: *
*rest = [1, 2, 3]
