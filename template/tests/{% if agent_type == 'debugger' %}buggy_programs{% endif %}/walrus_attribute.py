# kind: walrus-misuse
# line: 10
# fix: box.size = 3
# mention: box.size
class Box:
    pass


box = Box()
if (box.size := 3) > 2:
    print('big')
