# kind: file-not-found
# line: 9
# fix:     with open(path) as handle:
def load(path):
    try:
        with open(path) as handle:
            return handle.read()
    except OSError as error:
        raise FileNotFoundError(f'config missing: {path!r}') from error


load('app.cfg')
