# kind: method-called-on-class
# line: 13
# fix: Dog('Rex').bark()
# mention: Dog
class Dog:
    def __init__(self, name):
        self.name = name

    def bark(self):
        print('woof')


Dog.bark()
