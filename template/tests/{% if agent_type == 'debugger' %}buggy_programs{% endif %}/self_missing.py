# kind: missing-self
# line: 10
# fix:         return 'Hi ' + self.name
# mention: self.name
class Student:
    def __init__(self, name):
        self.name = name

    def greet(self):
        return 'Hi ' + name


print(Student('Ana').greet())
