# kind: module-attribute-typo
# line: 7
# fix: roll = random.randint(1, 6)
# mention: randint
import random

roll = random.randit(1, 6)
print(roll)
