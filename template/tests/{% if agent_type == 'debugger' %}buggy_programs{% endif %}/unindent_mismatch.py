# kind: unindent-mismatch
# line: 7
# fix:     print('done')
def run():
    for i in range(2):
        print(i)
   print('done')
