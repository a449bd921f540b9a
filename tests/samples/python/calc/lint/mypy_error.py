"""Planted mypy finding: [arg-type], a str passed where an int is expected."""


def double(value: int) -> int:
    return value * 2


print(double("21"))
