# kind: json-decode
# line: 7
# fix: data = json.loads('{}')
# mention: Expecting value
import json

data = json.loads('')
