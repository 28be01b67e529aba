# kind: not-a-package
# line: 5
# fix: import os
# mention: os
import os.getcwd
