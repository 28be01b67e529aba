# kind: object-attribute-missing
# line: 11
# fix: print(account.amount)
# mention: balance
class Account:
    def __init__(self, amount):
        self.amount = amount


account = Account(10)
print(account.balance)
