# kind: missing-comma
# line: 5
# fix: primes = [1, 2, 3, 5]
# mention: 2
primes = [1, 2 3, 5]
print(primes)
