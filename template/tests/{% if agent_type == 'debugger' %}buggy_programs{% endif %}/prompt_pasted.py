# kind: pasted-prompt
# line: 5
# fix: print('hi')
# mention: >>>
>>> print('hi')
