"""Live: every pin of this repository gets a well-formed answer from the real registry of its datasource.

No engine; the registries as this host reaches them (npm, go, pip's index, the host's apt mirrors).
Where a registry cannot be reached at all, its test skips naming why; in strict mode (CI) it fails.
"""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

import pytest

from reactor_harness.plugin.outcomes import skip_or_fail
from reactor_harness.updates.collect import family_pins
from reactor_harness.updates.model import DATASOURCES, RegistryError, TrackedPin
from reactor_harness.updates.ordering import parse
from reactor_harness.updates.outdated import PARALLEL_LOOKUPS, Registries
from reactor_harness.updates.policy import POLICY_FILE, UpdatePolicy

pytestmark = pytest.mark.always_runs("asks the live registries")


@pytest.fixture(scope="module")
def registries(family) -> Registries:
    return Registries.real(family)


@pytest.fixture(scope="module")
def pins(family) -> list[TrackedPin]:
    return family_pins(family)


@pytest.fixture(scope="module")
def unlisted(family) -> dict[str, str]:
    """Dep names whose registry refuses to list versions, with the reason (images/update-policy.toml)."""
    return UpdatePolicy.load(family.root / POLICY_FILE).unlisted


@pytest.mark.parametrize("datasource", DATASOURCES)
def test_every_pin_gets_a_well_formed_answer(datasource, pins, registries, unlisted, harness_settings):
    """Each pin's registry lists versions this datasource can order, the pinned one among them; a pin the
    policy declares unlisted must still be refused (else its entry is stale)."""
    mine = [pin for pin in pins if pin.datasource == datasource]
    assert mine, f"this repository has no {datasource} pin: drop the datasource or this test"
    source = registries.sources[datasource]

    def ask(dep_name: str) -> list[str] | RegistryError:
        try:
            return source.versions(dep_name)
        except RegistryError as error:
            return error

    with ThreadPoolExecutor(max_workers=PARALLEL_LOOKUPS) as pool:  # as `reactor pins outdated` asks them
        names = sorted({pin.dep_name for pin in mine})
        answers: dict[str, list[str] | RegistryError] = dict(zip(names, pool.map(ask, names), strict=True))
    listed_again = sorted(name for name in answers if name in unlisted and not isinstance(answers[name], RegistryError))
    assert not listed_again, f"listed again: drop them from [unlisted] in {POLICY_FILE}: {listed_again}"
    failures = {
        name: answer for name, answer in answers.items() if isinstance(answer, RegistryError) and name not in unlisted
    }
    mine = [pin for pin in mine if pin.dep_name not in unlisted]
    if not mine:
        return  # every pin of this datasource is declared unlisted (and was refused, as declared)
    if len(failures) == len(answers):
        first = next(iter(failures.values()))
        skip_or_fail(harness_settings, f"the {datasource} registry is not reachable from here: {first}")
    assert not failures, f"{datasource}: no answer for " + "; ".join(f"{n}: {e}" for n, e in failures.items())
    problems = []
    for pin in mine:
        versions = answers[pin.dep_name]
        assert isinstance(versions, list)
        parsed = [v for v in (parse(datasource, text) for text in versions) if v is not None]
        if not any(v.stable for v in parsed):
            problems.append(f"{pin.location}: {pin.dep_name}: no stable version among {len(versions)} answered")
        if pin.current not in versions:
            problems.append(f"{pin.location}: {pin.dep_name} {pin.current} is not published ({versions[-5:]} ...)")
    assert not problems, "\n".join(problems)
