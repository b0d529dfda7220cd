"""One test's capture, and the ``sqlperf`` fixture that tests use to make assertions on it.

The pytest plugin (``sqlperf.pytest_plugin``) is the thin layer of options and hooks;
what a test's capture means (which statements count, which findings are this test's,
what a failure says) lives here.
"""

from __future__ import annotations

import fnmatch
import os
from collections import Counter
from contextlib import contextmanager
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any, Callable, Iterator

from sqlperf.capture import recorder
from sqlperf.capture.api import CaptureOptions, CaptureResult, capture
from sqlperf.capture.callsite import CallSite
from sqlperf.capture.recorder import Scope
from sqlperf.capture.reporting import baseline_entry, baseline_key, describe_finding
from sqlperf.capture.summary import one_per_site
from sqlperf.rule import Finding


@dataclass
class TestPolicy:
    """What counts for one test: the session's settings with the test's marker applied."""

    __test__ = False  # not a test class, whatever its name

    options: CaptureOptions
    allow: frozenset[str] = frozenset()  # codes the marker allows for this test
    include_test_code: bool = False
    test_files: tuple[str, ...] = ()  # glob patterns of test modules (pytest's python_files)
    baseline: frozenset[tuple] = frozenset()


@dataclass
class TestCapture:
    """The statements of one test and the findings that are this test's to answer for."""

    __test__ = False

    nodeid: str
    policy: TestPolicy
    site: CallSite | None = None  # the test function: SP504's location
    scope: Scope = field(default_factory=lambda: Scope(isolate=True))
    _handle: Any = None

    def __post_init__(self) -> None:
        self.scope.depth = self.policy.options.depth
        options = self.policy.options
        if not self.policy.include_test_code:
            # A test that calls the application in a loop (to build its data, or once per
            # case) makes the application repeat a statement: that is the test's loop.
            options = replace(options, test_code=self._is_test_file)
        self.result = CaptureResult(options, self.scope, self.site)

    # -- recording ---------------------------------------------------------------------------
    def start(self) -> None:
        if self._handle is None:
            # isolate: a pytester run inside a test must not report into the outer test.
            self._handle = recorder.activate(self.scope, threads=True)

    def stop(self) -> None:
        if self._handle is not None:
            recorder.deactivate(self._handle)
            self._handle = None

    @contextmanager
    def paused(self) -> Iterator[None]:
        self.scope.paused += 1
        try:
            yield
        finally:
            self.scope.paused -= 1

    # -- judging -----------------------------------------------------------------------------
    def judge(self) -> tuple[list[Finding], list[Finding]]:
        """(new findings, findings the baseline already knows), one per (rule, call site)."""
        if "ALL" in self.policy.allow:
            return [], []
        found = [f for f in self.result.findings if f.code not in self.policy.allow and not self._in_test_code(f)]
        new, known = [], []
        for finding in one_per_site(found):
            finding.data["test"] = self.nodeid
            (known if baseline_key(baseline_entry(finding)) in self.policy.baseline else new).append(finding)
        return new, known

    def _in_test_code(self, finding: Finding) -> bool:
        if self.policy.include_test_code or finding.code == "SP504":
            return False
        return self._is_test_file(finding.path)

    def _is_test_file(self, path: str) -> bool:
        name = os.path.basename(path)
        return name == "conftest.py" or any(fnmatch.fnmatch(name, pattern) for pattern in self.policy.test_files)

    def failure_text(self, findings: list[Finding], verbose: bool) -> str:
        head = f"sqlperf found {len(findings)} problem{'s' if len(findings) != 1 else ''} in the SQL this test ran"
        body = "\n".join(describe_finding(f, verbose=verbose, indent="  ") for f in findings)
        tail = "" if verbose else "\n  (run with -v to see the SQL)"
        allow = "\n  (allow them with @pytest.mark.sqlperf(allow=[...], reason=...) or the sqlperf.allow() block)"
        return f"{head}:\n{body}{tail}{allow}"


class SqlperfFixture:
    """The ``sqlperf`` fixture: the statements this test has run so far, and assertions on them."""

    def __init__(self, test: TestCapture, verbose: bool = False) -> None:
        self._test = test
        self._verbose = verbose

    @property
    def statements(self):
        return list(self._test.scope.statements)

    @property
    def findings(self) -> list[Finding]:
        return list(self._test.result.findings)

    @property
    def count(self) -> int:
        return self._test.result.count

    def _sql_list(self, statements) -> str:
        if not self._verbose:
            return ""
        lines = [f"  {i}. {' '.join(s.text.split())}" for i, s in enumerate(statements, 1)]
        return "\nStatements:\n" + "\n".join(lines)

    def assert_max_queries(self, n: int) -> None:
        """Fail when this test has sent more than ``n`` statements so far."""
        __tracebackhide__ = True
        counted = [s for s in self._test.scope.statements if s.allowed is None]
        if len(counted) > n:
            common = most_frequent(counted)
            raise AssertionError(
                f"expected at most {n} statements, got {len(counted)} (most frequent: {common})"
                + self._sql_list(counted)
            )

    def assert_no_n_plus_one(self) -> None:
        """Fail when the statements so far contain an N+1 (SP501)."""
        __tracebackhide__ = True
        found = [f for f in self._test.result.findings if f.code == "SP501"]
        if found:
            text = "\n".join(describe_finding(f, verbose=self._verbose, indent="  ") for f in one_per_site(found))
            raise AssertionError(f"N+1 found:\n{text}")

    @contextmanager
    def allow(self, reason: str) -> Iterator[None]:
        """Statements sent inside this block count for nothing (findings and budgets)."""
        if not isinstance(reason, str) or not reason.strip():
            raise ValueError("sqlperf.allow() needs a reason, e.g. sqlperf.allow('admin export, paged later')")
        previous = self._test.scope.allow_reason
        self._test.scope.allow_reason = reason
        try:
            yield
        finally:
            self._test.scope.allow_reason = previous

    def assert_constant_queries(
        self,
        build: Callable[[int], Any],
        run: Callable[..., Any],
        sizes: tuple[int, ...] = (2, 10),
    ) -> None:
        """Prove there is no N+1: run the same code on data of different sizes and fail if
        the number of statements grows with the data.

        ``build(size)`` makes the data (its statements are not counted); ``run()`` is then
        called, with build's return value if that is not None.
        """
        __tracebackhide__ = True
        if len(sizes) < 2 or list(sizes) != sorted(set(sizes)):
            raise ValueError(f"sizes must be at least two increasing row counts, got {sizes!r}")
        runs: list[tuple[int, CaptureResult]] = []
        for size in sizes:
            with self._test.paused():
                built = build(size)
            with capture(static=False, depth=self._test.scope.depth, threads=True) as result:
                run() if built is None else run(built)
            runs.append((size, result))
        (small, first), (large, last) = runs[0], runs[-1]
        if last.count <= first.count:
            return
        raise AssertionError(self._growth_text(small, first, large, last))

    def _growth_text(self, small: int, first: CaptureResult, large: int, last: CaptureResult) -> str:
        def shapes(result):
            counts: Counter = Counter()
            sample = {}
            for s in result.statements:
                if s.allowed is None:
                    key = (s.fingerprint, s.call_site.display(self._test.policy.options.root) if s.call_site else "?")
                    counts[key] += 1
                    sample.setdefault(key, s)
            return counts, sample

        before, _ = shapes(first)
        after, sample = shapes(last)
        lines = [
            f"the number of statements grows with the data: {small} rows -> {first.count} statements, "
            f"{large} rows -> {last.count} statements"
        ]
        for key, n in after.most_common():
            grew = n - before.get(key, 0)
            if grew > 0:
                s = sample[key]
                what = f" ({s.relationship} lazy load)" if s.relationship else ""
                lines.append(f"  +{grew}: {' '.join(s.text.split())[:160]}{what}\n      from {key[1]}")
        n_plus_one = [f for f in last.findings if f.code == "SP501"]
        for finding in one_per_site(n_plus_one):
            lines.append(describe_finding(finding, verbose=False, indent="  "))
        return "\n".join(lines)


def most_frequent(statements, top: int = 3) -> str:
    """``3x SELECT comments.id ... (views.py:14)`` for the statements sent most often."""
    from sqlperf.capture.detectors import most_frequent as describe

    return describe(statements, top)


def python_file_patterns(config) -> tuple[str, ...]:
    patterns = config.getini("python_files") or ["test_*.py", "*_test.py"]
    return tuple(str(p) for p in patterns)


def item_site(item) -> CallSite | None:
    function = getattr(item, "function", None)
    code = getattr(function, "__code__", None)
    if code is None:
        return None
    return CallSite(code.co_filename, code.co_firstlineno, getattr(item, "name", code.co_name))


def resolve(path: str, base: Path) -> Path:
    candidate = Path(path)
    return candidate if candidate.is_absolute() else base / candidate
