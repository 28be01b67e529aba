# kind: substring-not-found
# line: 6
# fix: at = email.find('@')
# mention: '@'
email = 'ana.example.com'
at = email.index('@')
