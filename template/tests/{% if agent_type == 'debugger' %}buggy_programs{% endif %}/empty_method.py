# kind: empty-block
# line: 6
# fix:         print("barks")
# mention: function definition
class Dog:
    def bark(self):

    def sit(self):
        print('sits')
