# kind: not-iterable
# line: 11
# fix: for name in team.members:
# mention: Team
class Team:
    def __init__(self):
        self.members = ['ana', 'bo']


team = Team()
for name in team:
    print(name)
