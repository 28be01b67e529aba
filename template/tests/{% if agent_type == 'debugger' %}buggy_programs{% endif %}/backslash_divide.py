# kind: stray-backslash
# line: 6
# fix: half = total / 2
# mention: backslash
total = 10
half = total \ 2
