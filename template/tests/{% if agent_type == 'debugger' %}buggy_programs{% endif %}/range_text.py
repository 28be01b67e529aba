# kind: text-as-integer
# line: 6
# fix: for i in range(int(times)):
# mention: times
times = '3'
for i in range(times):
    print('hi')
