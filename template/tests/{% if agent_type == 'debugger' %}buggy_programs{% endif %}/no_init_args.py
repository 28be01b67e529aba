# kind: class-takes-no-arguments
# line: 10
# fix: p = Point()
# mention: Point
class Point:
    x = 0
    y = 0


p = Point(1, 2)
