# kind: module-called
# line: 7
# fix: print(random.random())
# mention: random
import random

print(random())
