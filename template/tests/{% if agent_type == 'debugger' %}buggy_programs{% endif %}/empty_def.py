# kind: empty-block
# line: 5
# fix:     return open("data.txt").read()
# mention: function definition
def load_data():
    # TODO: read the file


def main():
    load_data()
