# kind: invalid-number-literal
# line: 5
# fix: flags = 0b101
# mention: binary
flags = 0b102
