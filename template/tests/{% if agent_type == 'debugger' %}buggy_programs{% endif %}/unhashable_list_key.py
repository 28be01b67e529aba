# kind: unhashable
# line: 6
# fix: seen = {(1, 2): True}
# mention: list
seen = {}
seen[[1, 2]] = True
