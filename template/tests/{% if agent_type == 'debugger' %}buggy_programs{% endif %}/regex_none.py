# kind: none-not-subscriptable
# line: 8
# fix: if found: print(found[0])
# mention: found
import re

found = re.search('[0-9]+', 'no digits here')
print(found[0])
