# kind: module-attribute-typo
# line: 7
# fix: print(datetime.datetime.now())
# mention: datetime.now
import datetime

print(datetime.now())
