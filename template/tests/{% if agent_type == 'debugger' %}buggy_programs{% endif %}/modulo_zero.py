# kind: modulo-by-zero
# line: 7
# fix: if divisor and number % divisor == 0:
# mention: divisor
number = 10
divisor = 0
if number % divisor == 0:
    print('divides')
