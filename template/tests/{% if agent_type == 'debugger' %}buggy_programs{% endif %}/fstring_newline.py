# kind: fstring-backslash
# line: 7
# fix: print(lines)
# mention: join
# python: <3.12
names = ['ana', 'bo']
print(f"{'\n'.join(names)}")
