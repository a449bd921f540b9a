"""Arithmetic with type hints that mypy --strict accepts."""


def add(left: int, right: int) -> int:
    return left + right


def mean(values: list[float]) -> float:
    if not values:
        raise ValueError("mean of no values")
    return sum(values) / len(values)
