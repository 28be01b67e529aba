# kind: keyword-as-name
# line: 5
# fix: def send(sender, to):
# mention: from
def send(from, to):
    print(from, '->', to)
