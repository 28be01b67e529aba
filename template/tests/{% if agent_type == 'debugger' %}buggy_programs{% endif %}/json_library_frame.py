# kind: json-single-quotes
# line: 7
# fix: data = json.loads('{"a": 1}')
import json

text = "{'a': 1}"
data = json.loads(text)
