# kind: else-if
# line: 8
# fix: elif temp > 20:
# mention: elseif
temp = 25
if temp > 30:
    print('hot')
elseif temp > 20:
    print('warm')
