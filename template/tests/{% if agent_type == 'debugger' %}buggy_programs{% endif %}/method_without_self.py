# kind: too-many-arguments
# line: 9
# fix:     def bark(self):
class Dog:
    def bark():
        return 'woof'


print(Dog().bark())
