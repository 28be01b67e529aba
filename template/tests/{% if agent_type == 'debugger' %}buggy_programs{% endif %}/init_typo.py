# kind: init-misspelled
# line: 10
# fix:     def __init__(self, name):
# mention: __int__
class Dog:
    def __int__(self, name):
        self.name = name


rex = Dog('Rex')
