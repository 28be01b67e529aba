# kind: tab-error
# line: 6
# fix:     y = 2
if True:
        x = 1
	y = 2
