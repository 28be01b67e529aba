# kind: unpack-non-iterable
# line: 6
# fix: width, height = size, size
# mention: width, height
size = 10
width, height = size
