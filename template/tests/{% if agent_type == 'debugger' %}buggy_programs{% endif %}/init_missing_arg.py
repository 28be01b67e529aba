# kind: constructor-missing-argument
# line: 10
# fix: rex = Dog('Rex')
# mention: name
class Dog:
    def __init__(self, name):
        self.name = name


rex = Dog()
