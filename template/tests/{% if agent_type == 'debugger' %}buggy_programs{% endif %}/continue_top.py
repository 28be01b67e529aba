# kind: break-outside-loop
# line: 7
# fix:     continue
# mention: continue
x = 3
if x > 2:
    continue
