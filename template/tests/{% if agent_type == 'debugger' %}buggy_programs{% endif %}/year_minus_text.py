# kind: text-arithmetic
# line: 6
# fix: age = 2024 - int(birth)
# mention: birth
birth = '1990'
age = 2024 - birth
print(age)
