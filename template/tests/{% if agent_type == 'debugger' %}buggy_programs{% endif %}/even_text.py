# kind: modulo-on-text
# line: 6
# fix: if int(number) % 2 == 0:
# mention: number
number = '7'
if number % 2 == 0:
    print('even')
