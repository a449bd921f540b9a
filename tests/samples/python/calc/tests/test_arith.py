from calc import add, mean


def test_add_passes() -> None:
    assert add(2, 3) == 5


def test_mean_fails_on_purpose() -> None:
    # Planted failure: the image's tests expect exactly one failed and one passed test.
    assert mean([1.0, 2.0]) == 2.0
