# kind: call-without-parentheses
# line: 5
# fix: exec('x = 1')
# mention: exec
exec 'x = 1'
