"""Shared fixtures: an isolated TUTOR_HOME per test, and one real LocalStack per session.

Set TUTOR_TEST_ENDPOINT to run the suite against a LocalStack you already started;
otherwise the session starts an embedded one (host mode) on a free port and stops it at
the end.
"""

from __future__ import annotations

import multiprocessing
import os
import shutil
import tempfile
from collections.abc import Iterator
from concurrent.futures import Future, ProcessPoolExecutor
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

if TYPE_CHECKING:
    from tutor.cloud.endpoint import Endpoint

# Real-looking credentials in the environment: the factory must never use them.
os.environ.setdefault("AWS_ACCESS_KEY_ID", "AKIAIOSFODNN7EXAMPLE")
os.environ.setdefault("AWS_SECRET_ACCESS_KEY", "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY")
os.environ.setdefault("AWS_PROFILE", "production-do-not-touch")
# No stray LocalStack from the developer's shell decides where tests go.
for _name in ("AWS_ENDPOINT_URL", "LOCALSTACK_HOST"):
    os.environ.pop(_name, None)

# The pool that proves every lab (see pytest_collection_modifyitems and `proven`).
_POOL = pytest.StashKey[tuple[ProcessPoolExecutor, "Future[Any]", int]]()

_SESSION_HOME = Path(tempfile.mkdtemp(prefix="tutor-test-home-"))
os.environ["TUTOR_HOME"] = str(_SESSION_HOME)


@pytest.fixture(autouse=True)
def tutor_home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Each test gets its own data directory; nothing touches the user's home."""
    home = tmp_path / "tutor-home"
    monkeypatch.setenv("TUTOR_HOME", str(home))
    monkeypatch.delenv("TUTOR_WORKSPACE", raising=False)
    return home


@pytest.fixture(scope="session")
def localstack() -> Iterator[Endpoint]:
    """The real LocalStack for this test session (embedded unless TUTOR_TEST_ENDPOINT)."""
    from tutor.cloud import endpoint as ep

    given = os.environ.get("TUTOR_TEST_ENDPOINT", "").strip()
    if given:
        found = ep.Endpoint(given, "TUTOR_TEST_ENDPOINT")
        yield found
        return
    from tutor.cloud.embedded import EmbeddedLocalStack

    embedded = EmbeddedLocalStack(data=_SESSION_HOME / "localstack")
    found = embedded.start()
    os.environ["TUTOR_TEST_LOCALSTACK_URL"] = found.url
    try:
        yield found
    finally:
        embedded.stop()
        shutil.rmtree(_SESSION_HOME, ignore_errors=True)



def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """The tests that read `proven` run last, and the pool they read starts now, in a
    process of its own beside the rest of the suite (tests/proving.py)."""
    waiting = [item for item in items if "proven" in getattr(item, "fixturenames", ())]
    if not waiting:
        return
    # Tests that measure this machine (a write rate it must reach, duplicates it must
    # produce in time) ask for `after_pool`: they run after the pool, alone, as before.
    quiet = [item for item in items if "after_pool" in getattr(item, "fixturenames", ())
             and item not in waiting]
    items[:] = [item for item in items if item not in waiting and item not in quiet] \
        + waiting + quiet
    import proving

    parallel = int(os.environ.get("TUTOR_CORPUS_PARALLEL", "3"))
    pool = ProcessPoolExecutor(max_workers=1, mp_context=multiprocessing.get_context("spawn"))
    future = pool.submit(proving.prove_all, parallel,
                         os.environ.get("TUTOR_TEST_ENDPOINT", "").strip())
    config.stash[_POOL] = (pool, future, parallel)


def pytest_unconfigure(config: pytest.Config) -> None:
    """An interrupted session takes the pool (and its LocalStack) along."""
    held = config.stash.get(_POOL, None)
    if held is None:
        return
    pool, future, _ = held
    future.cancel()
    for process in list(getattr(pool, "_processes", {}).values()):
        if process.is_alive():
            process.terminate()
    pool.shutdown(wait=True, cancel_futures=True)


@pytest.fixture
def after_pool(pytestconfig: pytest.Config) -> None:
    """For a test that measures what this machine can do: it waits until the pool that
    proves every lab is done, so that the two do not share the two cores."""
    held = pytestconfig.stash.get(_POOL, None)
    if held is not None:
        held[1].exception()  # waits; the tests that read `proven` report its failures


@pytest.fixture(scope="session")
def proven(pytestconfig: pytest.Config) -> dict[str, Any]:
    """Every lab proven once per session, in one pool of TUTOR_CORPUS_PARALLEL (default 3)
    slots (what `tutor dev check` runs): its self-test in a fresh learner account of its
    own (the stricter account: nothing may assume 000000000000), and every case of its
    mistakes corpus, each slot in an account of its own. The pool runs in a process of its
    own, on a LocalStack of its own, from the end of collection (tests/proving.py).
    Keyed by lab id; the self-test is `.selftests["learner"]`. The first test that asks
    for it waits for the pool to finish: each carries `timeout(3000)`. The figures go to
    the terminal (and so to the CI log) at once."""
    _, future, parallel = pytestconfig.stash[_POOL]
    results, seconds = future.result()
    lines = [f"every lab proven in {seconds:.0f} s, {parallel} at a time, beside the "
             "rest of the suite (self-tests in learner accounts, and the mistakes corpus)"]
    for result in results:
        tests = ", ".join(f"{where} {test.seconds:.0f} s"
                          for where, test in result.selftests.items())
        counts = result.counts()
        slowest = sorted(result.results, key=lambda r: -r.seconds)[:3]
        lines.append(f"  {result.lab_id}: self-test {tests}; corpus {counts['caught']}/"
                     f"{counts['mistakes']} mistakes caught, {counts['passed']}/"
                     f"{counts['variants']} variants passed, "
                     f"{sum(r.seconds for r in result.results):.0f} s of case time "
                     f"(slowest: {', '.join(f'{r.case.id} {r.seconds:.0f} s' for r in slowest)})")
    reporter = pytestconfig.pluginmanager.get_plugin("terminalreporter")
    capture = pytestconfig.pluginmanager.get_plugin("capturemanager")
    if reporter is not None and capture is not None:
        with capture.global_and_fixture_disabled():  # past the test's captured output
            reporter.write_line("")
            for line in lines:
                reporter.write_line(line)
    return {r.lab_id: r for r in results}
