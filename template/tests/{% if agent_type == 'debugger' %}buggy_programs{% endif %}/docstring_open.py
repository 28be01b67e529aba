# kind: unterminated-triple-string
# line: 6
# fix:     """Return the area."""
# mention: """
def area(w, h):
    """Return the area.
    return w * h


print(area(2, 3))
