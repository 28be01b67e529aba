# kind: module-not-installed
# line: 5
# fix: import bs4
# mention: beautifulsoup4
from bs4 import BeautifulSoup
