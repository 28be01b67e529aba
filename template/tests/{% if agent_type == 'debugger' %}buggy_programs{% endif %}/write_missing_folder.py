# kind: folder-not-found
# line: 5
# fix: with open('out.txt', 'w') as out:
# mention: results
with open('results/out.txt', 'w') as out:
    out.write('done')
