"""The clean counterpart of mypy_error.py: mypy --strict finds nothing here."""


def double(value: int) -> int:
    return value * 2


print(double(21))
