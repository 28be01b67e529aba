# kind: space-in-name
# line: 5
# fix: my_score = 10
# mention: my score
my score = 10
print(my score)
