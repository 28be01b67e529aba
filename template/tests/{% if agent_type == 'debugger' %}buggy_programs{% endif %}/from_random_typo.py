# kind: import-name-typo
# line: 5
# fix: from random import randint
# mention: randint
from random import randInt
