"""A tiny calculator package: the sample the python image's tests work on."""

from calc.arith import add, mean

__all__ = ["add", "mean"]
