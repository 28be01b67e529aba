# kind: for-without-in
# line: 5
# fix: for i in range(5):
# mention: range
for i range(5):
    print(i)
