# kind: unhashable
# line: 5
# fix: seen = {(1, 2): True}
seen = {}
seen[[1, 2]] = True
