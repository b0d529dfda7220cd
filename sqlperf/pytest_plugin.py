"""sqlperf for pytest: what each test really sends to the database, judged.

Installed means active in ``warn`` mode: every test's SQLAlchemy statements are captured
and a summary is printed at the end, only when something was found. ``--sqlperf=fail``
fails the tests that ran an N+1, a duplicate query, a row-by-row write or blew a query
budget; ``--sqlperf=off`` turns it all off. What the static rules say of the captured
statements is listed too, and fails tests only with ``--sqlperf-static=fail``: an unindexed
filter is a fact about production's data, which a test's few rows cannot show.

Sections: options, markers, hooks (per test, then per session), fixtures. The meaning of
a test's capture lives in ``sqlperf.capture.testing``; this module only wires it to pytest.
Nothing here imports SQLAlchemy at start-up; the first test that runs imports it when it is
installed, so that a test which imports the application only in its body is watched too.
"""

from __future__ import annotations

import sys
from dataclasses import dataclass
from pathlib import Path

import pytest

# -- options ------------------------------------------------------------------------------------
MODES = ("off", "warn", "fail")
STATIC = ("off", "warn", "fail")
_STATIC_WORDS = {"false": "off", "no": "off", "0": "off", "true": "warn", "yes": "warn", "on": "warn", "1": "warn"}
_INTS = {  # option -> (ini key, default, help)
    "n_plus_one_threshold": ("sqlperf_n_plus_one_threshold", 2, "repetitions of one statement shape from one loop that are still fine (SP501)"),
    "duplicate_threshold": ("sqlperf_duplicate_threshold", 1, "identical executions that are still fine (SP502)"),
    "row_by_row_threshold": ("sqlperf_row_by_row_threshold", 2, "single-row writes from one loop that are still fine (SP503)"),
    "max_queries": ("sqlperf_max_queries", None, "statements each test may send (SP504); none by default"),
}


def pytest_addoption(parser) -> None:
    group = parser.getgroup("sqlperf", "sqlperf: SQL performance of the statements tests run")
    group.addoption("--sqlperf", dest="sqlperf_mode", choices=MODES, default=None,
                    help="off, warn (summary at the end, the default) or fail (fail the test)")
    parser.addini("sqlperf_mode", "sqlperf mode: off, warn or fail", default="warn")
    for name, (ini, default, text) in _INTS.items():
        group.addoption(f"--sqlperf-{name.replace('_', '-')}", dest=f"sqlperf_{name}", type=int, default=None,
                        metavar="N", help=f"{text} (default: {default})")
        parser.addini(ini, f"{text} (default: {default})", default=None if default is None else str(default))
    group.addoption("--sqlperf-static", dest="sqlperf_static", choices=STATIC, default=None,
                    help="the static rules on each distinct captured statement: off, warn (listed in the "
                         "summary, the default) or fail (in --sqlperf=fail, fail the test like the runtime findings)")
    parser.addini("sqlperf_static", "static rules on captured statements: off, warn or fail (default: warn)", default="warn")
    group.addoption("--sqlperf-ignore", dest="sqlperf_ignore", default=None, metavar="CODES",
                    help="comma-separated rule codes never reported, e.g. SP201,SP502")
    parser.addini("sqlperf_ignore", "rule codes never reported", type="args", default=[])
    group.addoption("--sqlperf-include-fixtures", dest="sqlperf_include_fixtures", action="store_true", default=None,
                    help="also count statements sent while fixtures are set up (default: the test body only)")
    parser.addini("sqlperf_include_fixtures", "count statements of fixture setup too (default: false)", type="bool", default=False)
    group.addoption("--sqlperf-include-test-code", dest="sqlperf_include_test_code", action="store_true", default=None,
                    help="also report problems whose call site is in test files (default: application code only)")
    parser.addini("sqlperf_include_test_code", "report call sites in test files too (default: false)", type="bool", default=False)
    group.addoption("--sqlperf-baseline", dest="sqlperf_baseline", default=None, metavar="FILE",
                    help="known findings: only new ones fail or are listed as new")
    parser.addini("sqlperf_baseline", "baseline file of known findings", default=None)
    group.addoption("--sqlperf-update-baseline", dest="sqlperf_update_baseline", action="store_true", default=False,
                    help="rewrite the baseline file with today's findings (needs --sqlperf-baseline)")
    group.addoption("--sqlperf-report", dest="sqlperf_report", default=None, metavar="FILE",
                    help="write the findings to FILE: SARIF 2.1.0 for .sarif, JSON otherwise")
    parser.addini("sqlperf_report", "report file (.sarif or .json)", default=None)


@dataclass(frozen=True)
class Settings:
    mode: str
    n_plus_one_threshold: int
    duplicate_threshold: int
    row_by_row_threshold: int
    max_queries: int | None
    static: str  # off, warn or fail
    ignore: tuple[str, ...]
    include_fixtures: bool
    include_test_code: bool
    baseline: Path | None
    update_baseline: bool
    report: Path | None

    def header(self) -> str:
        budget = "none" if self.max_queries is None else str(self.max_queries)
        parts = [
            f"mode={self.mode}",
            f"n+1 threshold={self.n_plus_one_threshold}",
            f"duplicates={self.duplicate_threshold}",
            f"row-by-row={self.row_by_row_threshold}",
            f"max queries={budget}",
            f"static rules={self.static}",
            f"fixtures={'counted' if self.include_fixtures else 'not counted'}",
        ]
        if self.ignore:
            parts.append("ignore=" + ",".join(self.ignore))
        if self.baseline:
            parts.append(f"baseline={self.baseline}" + (" (updating)" if self.update_baseline else ""))
        if self.report:
            parts.append(f"report={self.report}")
        return "sqlperf: " + ", ".join(parts)


def _read_settings(config) -> Settings:
    def pick(name: str, ini: str):
        value = config.getoption(name)
        return value if value is not None else config.getini(ini)

    mode = pick("sqlperf_mode", "sqlperf_mode")
    if mode not in MODES:
        raise pytest.UsageError(f"sqlperf_mode must be one of {', '.join(MODES)}, got {mode!r}")
    numbers = {}
    for name, (ini, _default, _text) in _INTS.items():
        value = pick(f"sqlperf_{name}", ini)
        if value in (None, "", "none"):
            numbers[name] = None
            continue
        try:
            numbers[name] = int(value)
        except (TypeError, ValueError):
            raise pytest.UsageError(f"{ini} must be a whole number, got {value!r}") from None
        if numbers[name] < 0:
            raise pytest.UsageError(f"{ini} must not be negative, got {value}")
    static = pick("sqlperf_static", "sqlperf_static")
    static = _STATIC_WORDS.get(str(static).strip().lower(), str(static).strip().lower())
    if static not in STATIC:
        raise pytest.UsageError(f"sqlperf_static must be one of {', '.join(STATIC)}, got {static!r}")
    ignore = config.getoption("sqlperf_ignore")
    codes = ignore.split(",") if ignore is not None else config.getini("sqlperf_ignore")
    base = config.invocation_params.dir
    baseline = pick("sqlperf_baseline", "sqlperf_baseline")
    report = pick("sqlperf_report", "sqlperf_report")
    update = bool(config.getoption("sqlperf_update_baseline"))
    if update and not baseline:
        raise pytest.UsageError("--sqlperf-update-baseline needs --sqlperf-baseline FILE (or ini sqlperf_baseline)")
    flags = {}
    for name in ("include_fixtures", "include_test_code"):
        value = config.getoption(f"sqlperf_{name}")
        flags[name] = bool(config.getini(f"sqlperf_{name}") if value is None else value)
    return Settings(
        mode=mode,
        n_plus_one_threshold=2 if numbers["n_plus_one_threshold"] is None else numbers["n_plus_one_threshold"],
        duplicate_threshold=1 if numbers["duplicate_threshold"] is None else numbers["duplicate_threshold"],
        row_by_row_threshold=2 if numbers["row_by_row_threshold"] is None else numbers["row_by_row_threshold"],
        max_queries=numbers["max_queries"],
        static=static,
        ignore=tuple(c.strip().upper() for c in codes if c.strip()),
        include_fixtures=flags["include_fixtures"],
        include_test_code=flags["include_test_code"],
        baseline=base / baseline if baseline else None,
        update_baseline=update,
        report=base / report if report else None,
    )


# -- markers ------------------------------------------------------------------------------------
MARKER = (
    "sqlperf(max_queries=None, n_plus_one_threshold=None, allow=(), reason=None): "
    "sqlperf limits for this test: a statement budget (SP504), the N+1 threshold (SP501), "
    "rule codes allowed here (e.g. allow=['SP502'], or ['ALL']) and the reason they are allowed."
)
_MARKER_KEYS = {"max_queries", "n_plus_one_threshold", "allow", "reason"}


def _marker_overrides(item) -> dict:
    merged: dict = {}
    for marker in reversed(list(item.iter_markers("sqlperf"))):  # closest marker wins
        if marker.args:
            raise pytest.UsageError(f"{item.nodeid}: @pytest.mark.sqlperf takes keyword arguments only")
        unknown = set(marker.kwargs) - _MARKER_KEYS
        if unknown:
            raise pytest.UsageError(
                f"{item.nodeid}: @pytest.mark.sqlperf got unknown argument(s) {', '.join(sorted(unknown))}; "
                f"it takes {', '.join(sorted(_MARKER_KEYS))}"
            )
        merged.update(marker.kwargs)
    allow = merged.get("allow") or ()
    if isinstance(allow, str):
        allow = [allow]
    merged["allow"] = frozenset(str(code).upper() for code in allow)
    return merged


# -- hooks: configuration -------------------------------------------------------------------------
settings_key = pytest.StashKey["Settings"]()
baseline_key = pytest.StashKey[frozenset]()
test_key = pytest.StashKey["object"]()


def pytest_configure(config) -> None:
    config.addinivalue_line("markers", MARKER)
    settings = _read_settings(config)
    config.stash[settings_key] = settings
    known: frozenset = frozenset()
    if settings.baseline is not None and not settings.update_baseline and settings.mode != "off":
        from sqlperf.capture.reporting import BaselineError, load_baseline

        try:
            known = frozenset(load_baseline(settings.baseline))
        except BaselineError as error:
            raise pytest.UsageError(str(error)) from None
    config.stash[baseline_key] = known
    config.pluginmanager.register(_SessionReport(config), f"sqlperf-session-{id(config)}")


def pytest_report_header(config) -> str | None:
    settings = config.stash.get(settings_key, None)
    return settings.header() if settings is not None else None


# -- hooks: each test ---------------------------------------------------------------------------
def _wanted(item) -> bool:
    settings = item.config.stash[settings_key]
    return (settings.mode != "off" or "sqlperf" in getattr(item, "fixturenames", ())) and _sqlalchemy_ready()


_sqlalchemy_absent = False


def _sqlalchemy_ready() -> bool:
    """Whether SQLAlchemy is imported, importing it now if it is installed: the capture must
    be listening before the test runs, and a test may import the application (and with it
    SQLAlchemy) only in its body, as ``from app import handlers`` after setting the environment."""
    global _sqlalchemy_absent
    if "sqlalchemy" in sys.modules:
        return True
    if _sqlalchemy_absent:
        return False
    import importlib.util

    if importlib.util.find_spec("sqlalchemy") is None:
        _sqlalchemy_absent = True
        return False
    import sqlalchemy  # noqa: F401

    return True


def _new_test_capture(item):
    from sqlperf.capture.api import CaptureOptions
    from sqlperf.capture.testing import TestCapture, TestPolicy, item_site, python_file_patterns

    settings = item.config.stash[settings_key]
    marker = _marker_overrides(item)
    options = CaptureOptions(
        n_plus_one_threshold=_first_set(marker.get("n_plus_one_threshold"), settings.n_plus_one_threshold),
        duplicate_threshold=settings.duplicate_threshold,
        row_by_row_threshold=settings.row_by_row_threshold,
        max_queries=marker.get("max_queries", settings.max_queries),
        static=settings.static != "off",
        ignore=settings.ignore,
        root=item.config.rootpath,
    )
    policy = TestPolicy(
        options,
        allow=marker["allow"],
        include_test_code=settings.include_test_code,
        test_files=python_file_patterns(item.config),
        baseline=item.config.stash[baseline_key],
    )
    return TestCapture(item.nodeid, policy, item_site(item))


def _first_set(*values):
    return next((v for v in values if v is not None), None)


@pytest.hookimpl(wrapper=True, tryfirst=True)
def pytest_runtest_setup(item):
    if _wanted(item):
        test = item.stash[test_key] = _new_test_capture(item)
        if item.config.stash[settings_key].include_fixtures:
            test.start()
    return (yield)


@pytest.hookimpl(wrapper=True, tryfirst=True)
def pytest_runtest_call(item):
    test = item.stash.get(test_key, None)
    if test is None:
        return (yield)
    test.start()
    raised: BaseException | None = None
    try:
        result = yield
    except BaseException as error:  # judged all the same: its findings belong in the summary
        raised = error
    finally:
        test.stop()
    settings = item.config.stash[settings_key]
    if settings.mode != "off":
        new, known = test.judge()
        item.stash[_judged_key] = (new, known, len(test.scope.statements))
        from sqlperf.capture.summary import is_runtime

        failing = new if settings.static == "fail" else [f for f in new if is_runtime(f)]
        if raised is None and failing and settings.mode == "fail" and not settings.update_baseline:
            pytest.fail(test.failure_text(failing, item.config.get_verbosity() > 0), pytrace=False)
    if raised is not None:
        raise raised
    return result


_judged_key = pytest.StashKey[tuple]()


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(item, call):
    report = yield
    if call.when == "call":
        judged = item.stash.get(_judged_key, None)
        if judged is not None:
            from sqlperf.capture.summary import finding_to_dict

            new, known, statements = judged
            # Plain data on the report: pytest-xdist carries it from a worker to the controller.
            report.sqlperf = {
                "findings": [finding_to_dict(f) for f in new],
                "baselined": [finding_to_dict(f) for f in known],
                "statements": statements,
            }
    return report


def pytest_runtest_teardown(item) -> None:
    test = item.stash.get(test_key, None)
    if test is not None:
        test.stop()  # a setup that failed before the call leaves the capture running


# -- hooks: the session -----------------------------------------------------------------------
class _SessionReport:
    """Collects every test's findings (from this process or from xdist workers) and reports
    them once at the end. One instance per pytest config, so nested pytester runs stay apart."""

    def __init__(self, config) -> None:
        from sqlperf.capture.summary import SessionFindings

        self.config = config
        self.settings: Settings = config.stash[settings_key]
        self.found = SessionFindings()
        self.written: list[str] = []
        self.is_worker = hasattr(config, "workerinput")

    @pytest.hookimpl(tryfirst=True)
    def pytest_sessionstart(self, session) -> None:
        # Statements outside this session's tests (collection, fixtures when not counted)
        # belong to nobody; without this a pytester run inside a test would report its
        # fixtures into the outer test. Costs nothing when SQLAlchemy is not in use.
        self._quiet = None
        if "sqlalchemy" in sys.modules:
            from sqlperf.capture import recorder

            self._quiet = recorder.activate(recorder.Scope(isolate=True, paused=1), threads=True)

    def pytest_runtest_logreport(self, report) -> None:
        data = getattr(report, "sqlperf", None)
        if data and report.when == "call":
            self.found.add(report.nodeid, data["findings"], data["baselined"], data["statements"])

    def pytest_sessionfinish(self, session) -> None:
        if getattr(self, "_quiet", None) is not None:
            from sqlperf.capture import recorder

            recorder.deactivate(self._quiet)
            self._quiet = None
        if self.is_worker:
            return  # the controller writes the files, from every worker's reports
        from sqlperf.capture import reporting

        settings = self.settings
        if settings.report is not None and settings.mode != "off":
            reporting.write_report(settings.report, self.found.findings(), self.found.statements)
            self.written.append(f"sqlperf: report written to {settings.report}")
        if settings.update_baseline:
            count = reporting.write_baseline(settings.baseline, self.found.findings())
            self.written.append(f"sqlperf: baseline {settings.baseline} rewritten with {count} finding(s)")

    def pytest_terminal_summary(self, terminalreporter) -> None:
        found = self.found
        from sqlperf.capture.summary import is_runtime

        if self.is_worker or (not found.entries and not self.written):
            return
        terminalreporter.section("sqlperf")
        for line in found.lines(verbose=self.config.get_verbosity() > 0):
            terminalreporter.write_line(line)
        if found.entries:
            new = sum(1 for e in found.entries.values() if not e.baselined)
            known = len(found.entries) - new
            tests = len({t for e in found.entries.values() for t in e.tests})
            static = sum(1 for e in found.entries.values() if not e.baselined and not is_runtime(e.finding))
            if self.settings.update_baseline:
                what = "recorded in the baseline"
            elif self.settings.mode == "fail" and static and self.settings.static != "fail":
                what = "static rules' findings only, listed (--sqlperf-static=fail fails the tests on them)"
                if new > static:
                    what = (f"the tests that ran the {new - static} runtime one(s) failed; the {static} from the "
                            "static rules are listed only (--sqlperf-static=fail fails on them too)")
            elif self.settings.mode == "fail":
                what = "the tests that ran them failed"
            elif static and self.settings.static != "fail":
                what = ("reported only (--sqlperf=fail fails the tests on the runtime ones, "
                        "with --sqlperf-static=fail on the static rules' too)")
            else:
                what = "reported only (--sqlperf=fail fails the tests)"
            terminalreporter.write_line(
                f"sqlperf: {new} new problem(s)" + (f", {known} known from the baseline" if known else "")
                + f" in {tests} test(s), {found.statements} statements captured; {what}"
            )
        for line in self.written:
            terminalreporter.write_line(line)


# -- fixtures -----------------------------------------------------------------------------------
@pytest.fixture
def sqlperf(request):
    """The statements this test sends and assertions on them: ``statements``, ``findings``,
    ``assert_max_queries(n)``, ``assert_no_n_plus_one()``, ``allow(reason)`` (a block whose
    statements count for nothing) and ``assert_constant_queries(build, run, sizes=(2, 10))``."""
    from sqlperf.capture.testing import SqlperfFixture

    test = request.node.stash.get(test_key, None)
    if test is None:
        # SQLAlchemy was not imported when the test started; it is now (the fixture user needs it).
        test = request.node.stash[test_key] = _new_test_capture(request.node)
    return SqlperfFixture(test, verbose=request.config.get_verbosity() > 0)
