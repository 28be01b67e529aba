# kind: shell-command
# line: 5
# fix: import requests
# mention: pip install requests
pip install requests
import requests
