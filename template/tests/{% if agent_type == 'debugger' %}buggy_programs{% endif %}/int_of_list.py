# kind: conversion-of-wrong-type
# line: 6
# fix: number = int(''.join(digits))
# mention: list
digits = ['4', '2']
number = int(digits)
