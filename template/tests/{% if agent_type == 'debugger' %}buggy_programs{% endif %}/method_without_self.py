# kind: method-without-self
# line: 10
# fix:     def bark(self):
# mention: self
class Dog:
    def bark():
        return 'woof'


print(Dog().bark())
