# kind: set-pop-empty
# line: 6
# fix: if seen: seen.pop()
# mention: set
seen = set()
seen.pop()
