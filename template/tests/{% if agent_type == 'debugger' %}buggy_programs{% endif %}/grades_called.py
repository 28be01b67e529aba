# kind: attribute-not-method
# line: 11
# fix: print(student.grades)
# mention: grades
class Student:
    def __init__(self):
        self.grades = [90, 80]


student = Student()
print(student.grades())
