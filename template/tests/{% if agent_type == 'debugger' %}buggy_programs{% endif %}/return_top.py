# kind: return-outside-function
# line: 8
# fix: print(total)
# mention: return
total = 0
for n in [1, 2, 3]:
    total += n
return total
