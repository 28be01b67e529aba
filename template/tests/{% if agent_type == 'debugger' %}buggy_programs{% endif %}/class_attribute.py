# kind: class-attribute-missing
# line: 11
# fix: print(rex.name)
# mention: Dog
class Dog:
    def __init__(self, name):
        self.name = name


rex = Dog('Rex')
print(Dog.name)
