# kind: object-attribute-typo
# line: 11
# fix: print(pet.name)
# mention: name
class Pet:
    def __init__(self, name):
        self.name = name


pet = Pet('Tom')
print(pet.nmae)
