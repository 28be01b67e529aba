# kind: module-not-found
# line: 5
# fix: import helpers
# mention: helpers_for_homework
import helpers_for_homework
