"""Replaying verdicts: where a test passed before and nothing it depends on has changed, its verdict is replayed.

The keys and the store are `core.replay`'s. This module decides, per test, whether it may be replayed:
- never in strict mode (CI), with `--no-replay`, `--no-cache-results`, `--rebuild` or a baseline update;
- never a test marked `always_runs` (its verdict depends on the date or a live registry);
- a test of a built image (parametrized over `target`, using `built_image`) is keyed by the id of the image its
  tag names now, and kept under the id of the image it checked (from its build result);
- a test marked `reads_images(...)` (it reaches the engine, but what it checks depends only on the checkout, the
  engine and the images it names) is keyed like a target's test by the files outside images/ and the folders of
  the family images it names (with their parents'), the engine's version and the ids of those images as their
  native tags name them when it starts, and kept only if they still name them at its end;
- any other test is replayed only when marked `engine_free` (and asking for no engine fixture), keyed by every
  file of the checkout: a test that reaches the engine's images otherwise has them nowhere in its key.
A replayed test is reported passed with a "reactor replay" section naming the run it passed in; the terminal
summary counts them, and the results it recorded then (sizes, builds) reach the report as they were.
"""

from __future__ import annotations

import datetime as dt
import json
import time
from collections.abc import Callable, Generator, Mapping
from dataclasses import asdict
from typing import Literal

import pytest

from reactor_harness.build.bootstrap import DebianReference
from reactor_harness.build.builder import local_tag
from reactor_harness.core.cache import CacheNotices, ResultCache
from reactor_harness.core.engine import Engine
from reactor_harness.core.errors import EngineUnavailable, HarnessError
from reactor_harness.core.replay import (
    CheckoutDigests,
    Verdict,
    VerdictStore,
    environment_digest,
    keepable_properties,
    keepable_sections,
    replay_key,
    settings_digest,
)
from reactor_harness.family.discovery import Family
from reactor_harness.plugin.caching import notices_path
from reactor_harness.plugin.results import REPLAY_PROPERTY, is_replayed
from reactor_harness.plugin.settings import SETTINGS_KEY, HarnessSettings
from reactor_harness.plugin.targets import Target
from reactor_harness.plugin.workers import is_controller, shared_directory
from reactor_harness.report.results import results_in

MARKERS = (
    "always_runs(reason): never replay this test's verdict (it depends on the date or a live registry)",
    "engine_free: the test reads files and runs local tools only, never the engine, so its verdict may be "
    "replayed while the checkout's files are unchanged",
    "reads_images(*images): the test reaches the engine, and what it checks depends only on the checkout, the "
    "engine and these images on the native platform (family image names, or OS image references such as "
    "debian:trixie-slim; none: the engine alone), so its verdict may be replayed while their ids are unchanged",
)
# Fixtures through which a test reaches the engine: a test that asks for one is never replayed as engine-free.
ENGINE_FIXTURES = frozenset({"engine", "family_builder", "docker_services", "docker_compose_command"})
_REPLAYED = pytest.StashKey[bool]()
_OUTCOMES = pytest.StashKey[dict[str, str]]()
_CALL_DURATION = pytest.StashKey[float]()
_READ_AT_CALL = pytest.StashKey["dict[str, str] | None"]()


def replay_enabled(settings: HarnessSettings) -> bool:
    """Whether this run may replay verdicts (and keep new ones)."""
    return (
        settings.cache.replay
        and settings.cache.use_results
        and not settings.strict
        and not settings.rebuild
        and not settings.sizes.update_baseline
    )


class VerdictReplay:
    """In the process that runs tests: replays kept verdicts and keeps new passing ones."""

    def __init__(self, config: pytest.Config, settings: HarnessSettings) -> None:
        self.config = config
        self.settings = settings
        self._store: VerdictStore | None = None
        self._digests: CheckoutDigests | None | bool = False  # False: not computed yet
        self._environment: str | None = None
        self._settings = ""
        self._family: Family | None = None
        self._engine: Engine | None | bool = False
        self._engine_version: str | None | bool = False
        self._image_ids: dict[str, str | None] = {}

    @property
    def notices(self) -> CacheNotices:
        return self.store.cache.notices

    @property
    def store(self) -> VerdictStore:
        if self._store is None:  # made on first use: the run's temporary folder exists only after configure
            factory: pytest.TempPathFactory = self.config._tmp_path_factory  # type: ignore[attr-defined]
            once = shared_directory(self.config, factory.getbasetemp()) / "reactor-once"
            cache = ResultCache(self.settings.cache.directory / "results", notices=CacheNotices(notices_path(once)))
            self._store = VerdictStore(cache)
        return self._store

    # -- keys ---------------------------------------------------------------------------------------------------

    def _checkout(self) -> CheckoutDigests | None:
        if self._digests is False:
            family = self.family()
            names = list(family.images) if family is not None else []
            self._digests = CheckoutDigests.of(self.settings.root, self.settings.images_dir, names)
            if self._digests is None:
                self.notices.note(
                    f"verdict replay: git cannot list the files of {self.settings.root}, so no test is replayed; "
                    "run from a git checkout with git installed"
                )
        return self._digests if isinstance(self._digests, CheckoutDigests) else None

    def family(self) -> Family | None:
        if self._family is None:
            try:
                self._family = Family.discover(self.settings.images_dir)
            except HarnessError:
                return None
        return self._family

    def _common_key(self, item: pytest.Item, files: str, images: Mapping[str, str] | None) -> dict[str, str]:
        if self._environment is None:  # both are the run's, the same for every test: computed once
            settings = self.settings
            self._environment = environment_digest((settings.cache.directory / "bin",))
            self._settings = settings_digest(
                {
                    "platforms": [str(platform) for platform in settings.platforms],
                    "native": str(settings.native),
                    "require_native": [str(platform) for platform in settings.require_native],
                    "images_dir": str(settings.images_dir),
                    "ca_bundle": str(settings.ca_bundle),
                    "security": asdict(settings.security),
                    "sizes": asdict(settings.sizes),
                }
            )
        return replay_key(
            item.nodeid, files=files, environment=self._environment, settings=self._settings, images=images
        )

    def _target(self, item: pytest.Item) -> Target | None:
        callspec = getattr(item, "callspec", None)
        target = callspec.params.get("target") if callspec is not None else None
        return target if isinstance(target, Target) else None

    def _files_for(self, target: Target | None) -> str | None:
        checkout = self._checkout()
        if checkout is None:
            return None
        if target is None:
            return checkout.everything()
        family = self.family()
        if family is None:
            return None
        return checkout.for_images([target.image, *family.ancestors(target.image)])

    def _may_replay(self, item: pytest.Item) -> bool:
        if item.get_closest_marker("always_runs") is not None:
            return False
        names = set(getattr(item, "fixturenames", ()))
        if self._target(item) is not None:
            return "built_image" in names
        if item.get_closest_marker("reads_images") is not None:
            return True
        return item.get_closest_marker("engine_free") is not None and not names & ENGINE_FIXTURES

    def read_tags(self, item: pytest.Item) -> list[str] | None:
        """The local tags of the images a `reads_images` test names, on the native platform (None: not marked)."""
        marker = item.get_closest_marker("reads_images")
        if marker is None or self._target(item) is not None:
            return None
        family = self.family()
        native = self.settings.native
        tags = []
        for name in marker.args:
            debian = DebianReference.parse(str(name))
            if family is not None and name in family.images:
                tags.append(local_tag(str(name), native))
            elif debian is not None:
                tags.append(debian.local_tag(native))
            else:
                tags.append(str(name))
        return tags

    def read_images(self, item: pytest.Item) -> dict[str, str] | None:
        """What a `reads_images` test's verdict depends on in the engine, as it is now: the engine's version and
        the id each named tag points at (None when the engine does not answer or a tag is missing)."""
        tags = self.read_tags(item)
        if tags is None:
            return None
        version = self.engine_version()
        if version is None:
            return None
        read = {"engine": version}
        for tag in tags:
            image_id = self.image_id(tag)
            if image_id is None:
                return None
            read[tag] = image_id
        return read

    def lookup_key(self, item: pytest.Item) -> dict[str, str] | None:
        """The key under which a verdict for this test would have been kept, with the images as tagged now."""
        if self.read_tags(item) is not None:
            return self._read_key(item, self.read_images(item))
        return self._key(item, self._tagged_image_id)

    def keep_key(self, item: pytest.Item, report: pytest.TestReport) -> dict[str, str] | None:
        """The key to keep a passing verdict under: for a target's test, the id of the image it checked; for a
        `reads_images` test, the ids its tags named when its call began, if they name them still."""
        if self.read_tags(item) is not None:
            at_call = item.stash.get(_READ_AT_CALL, None)
            return self._read_key(item, at_call) if at_call and at_call == self.read_images(item) else None

        def checked(target: Target) -> str | None:
            built = [
                result.data.get("image_id")
                for result in results_in(report.user_properties)
                if result.area == "build" and result.image == target.image and result.platform == str(target.platform)
            ]
            image_id = built[-1] if built else None
            return image_id if isinstance(image_id, str) and image_id else None

        return self._key(item, checked)

    def _read_key(self, item: pytest.Item, read: Mapping[str, str] | None) -> dict[str, str] | None:
        if read is None or not self._may_replay(item):
            return None
        checkout, family = self._checkout(), self.family()
        marker = item.get_closest_marker("reads_images")
        if checkout is None or family is None or marker is None:
            return None
        # Like a target's test: the files outside images/, and the folders of the family images it reads and
        # their parents' (an OS image or the engine alone adds none).
        named = [str(name) for name in marker.args if name in family.images]
        folders = {ancestor for name in named for ancestor in (name, *family.ancestors(name))}
        return self._common_key(item, checkout.for_images(folders), read)

    def _key(self, item: pytest.Item, image_id_of: Callable[[Target], str | None]) -> dict[str, str] | None:
        if not self._may_replay(item):
            return None
        target = self._target(item)
        files = self._files_for(target)
        if files is None:
            return None
        if target is None:
            return self._common_key(item, files, None)
        image_id = image_id_of(target)
        if image_id is None:
            return None
        return self._common_key(item, files, {str(target): image_id})

    def _tagged_image_id(self, target: Target) -> str | None:
        tag = local_tag(target.image, target.platform)
        if tag not in self._image_ids:
            self._image_ids[tag] = self.image_id(tag)
        return self._image_ids[tag]

    def image_id(self, tag: str) -> str | None:
        """The id of the image the tag names now (None: no such tag, or no engine)."""
        engine = self._connect()
        inspected = engine.inspect_image(tag) if engine is not None else None
        identifier = inspected.get("Id") if inspected else None
        return str(identifier) if identifier else None

    def engine_version(self) -> str | None:
        """The engine's server version and the client the harness drives it with (asked once per process)."""
        if self._engine_version is False:
            engine = self._connect()
            try:
                self._engine_version = f"{engine.ping()} via {engine.client.path}" if engine is not None else None
            except EngineUnavailable:
                self._engine_version = None
        return self._engine_version if isinstance(self._engine_version, str) else None

    def _connect(self) -> Engine | None:
        if self._engine is False:
            try:
                self._engine = Engine.connect()
            except EngineUnavailable:
                self._engine = None
        return self._engine if isinstance(self._engine, Engine) else None

    # -- hooks --------------------------------------------------------------------------------------------------

    @pytest.hookimpl(tryfirst=True)
    def pytest_runtest_protocol(self, item: pytest.Item, nextitem: pytest.Item | None) -> bool | None:
        key = self.lookup_key(item)
        verdict = self.store.find(key) if key is not None else None
        if verdict is None:
            return None
        replay(item, nextitem, verdict)
        return True

    @pytest.hookimpl(wrapper=True)
    def pytest_runtest_makereport(
        self, item: pytest.Item, call: pytest.CallInfo[None]
    ) -> Generator[None, pytest.TestReport, pytest.TestReport]:
        report = yield
        if item.stash.get(_REPLAYED, False):
            return report
        outcomes = item.stash.setdefault(_OUTCOMES, {})
        outcomes[report.when] = report.outcome if not hasattr(report, "wasxfail") else "xfail"
        if report.when == "teardown" and outcomes == {"setup": "passed", "call": "passed", "teardown": "passed"}:
            self._keep(item, report)
        return report

    def _keep(self, item: pytest.Item, report: pytest.TestReport) -> None:
        key = self.keep_key(item, report)
        if key is None:
            return
        properties = keepable_properties(report.user_properties)
        sections = keepable_sections(report.sections)
        if properties is None or sections is None:
            return
        verdict = Verdict(
            run_id=self.settings.run_id,
            passed_at=dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
            duration_seconds=round(float(item.stash.get(_CALL_DURATION, 0.0)), 3),
            user_properties=properties,
            sections=sections,
        )
        self.store.keep(key, verdict)

    @pytest.hookimpl(wrapper=True)
    def pytest_runtest_call(self, item: pytest.Item) -> Generator[None, object, object]:
        if self.read_tags(item) is not None:
            item.stash[_READ_AT_CALL] = self.read_images(item)  # after setup: what its fixtures built is in
        started = time.perf_counter()
        try:
            return (yield)
        finally:
            item.stash[_CALL_DURATION] = time.perf_counter() - started


def replay(item: pytest.Item, nextitem: pytest.Item | None, verdict: Verdict) -> None:
    """Report a kept verdict as this run's: setup and call passed (the call carrying what the test recorded
    then and a "reactor replay" section), then a real teardown of what the test before it left set up and the
    next test does not share, so the fixtures around it are set up and torn down exactly as if it had run."""
    item.stash[_REPLAYED] = True
    ihook = item.ihook
    ihook.pytest_runtest_logstart(nodeid=item.nodeid, location=item.location)
    note = {"run_id": verdict.run_id, "passed_at": verdict.passed_at, "duration_seconds": verdict.duration_seconds}
    item.user_properties.extend([*verdict.user_properties, (REPLAY_PROPERTY, json.dumps(note))])
    section = (
        "reactor replay",
        f"not run: passed in run {verdict.run_id} at {verdict.passed_at} (took {verdict.duration_seconds} s), and "
        "nothing it depends on has changed since (its files, image id, environment and settings); "
        "--no-replay runs it",
    )
    keywords: dict[str, Literal[1]] = dict.fromkeys(item.keywords, 1)
    now = time.time()
    for when in ("setup", "call"):
        ihook.pytest_runtest_logreport(
            report=pytest.TestReport(
                item.nodeid,
                item.location,
                keywords,
                "passed",
                None,
                when,
                sections=[*verdict.sections, section] if when == "call" else [],
                duration=0.0,
                start=now,
                stop=now,
                user_properties=list(item.user_properties),
            )
        )
    # Not the teardown hook: its implementations undo what their setup did, and this test was never set up.
    # What has to happen is what that hook does at its core: tear down the fixtures the next test does not share.
    setup_state = item.session._setupstate  # pytest's own stack of set-up nodes (private, stable since pytest 7)
    teardown = pytest.CallInfo.from_call(lambda: setup_state.teardown_exact(nextitem), when="teardown")
    ihook.pytest_runtest_logreport(report=ihook.pytest_runtest_makereport(item=item, call=teardown))
    ihook.pytest_runtest_logfinish(nodeid=item.nodeid, location=item.location)


class ReplaySummary:
    """In the controller (or the only process): counts the replayed tests for the terminal summary."""

    def __init__(self) -> None:
        self.replayed = 0
        self.ran = 0

    def pytest_runtest_logreport(self, report: pytest.TestReport) -> None:
        if report.when != "teardown":
            return
        if is_replayed(report):
            self.replayed += 1
        else:
            self.ran += 1

    def pytest_terminal_summary(self, terminalreporter: pytest.TerminalReporter) -> None:
        if not self.replayed:
            return
        terminalreporter.section("reactor replay")
        terminalreporter.write_line(
            f"{self.replayed} of {self.replayed + self.ran} tests not run: each passed before and nothing it depends "
            "on has changed (files, image id, environment, settings); their reports say when. --no-replay runs "
            "every test; strict mode (CI) always does"
        )


def pytest_configure(config: pytest.Config) -> None:
    for marker in MARKERS:
        config.addinivalue_line("markers", marker)
    if SETTINGS_KEY not in config.stash:
        return
    settings = config.stash[SETTINGS_KEY]
    if not replay_enabled(settings):
        return
    config.pluginmanager.register(VerdictReplay(config, settings), "reactor-verdict-replay")
    if is_controller(config):
        config.pluginmanager.register(ReplaySummary(), "reactor-replay-summary")
