# kind: unicode-symbol
# line: 5
# fix: for i in range(3):
# mention: →
for i in range(3) →
    print(i)
