"""The runtime rules: SP501 n-plus-one, SP502 duplicate-query, SP503 row-by-row-write,
SP504 query-budget-exceeded, judged on the statements one capture recorded.

A *loop* is told from a coincidence by the frames of each statement (see callsite.walk):
statements repeat in one loop when, at some level above their call site, they run in the
same call of the same function (one activation) along the same lines of code. Two
requests that happen to run the same view never share that, while the rows of one
``for`` loop always do. At most one finding is made per (rule, call site), however long
the loop.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Iterable

from sqlperf.capture.callsite import CallSite, display_path, function_name, line_of
from sqlperf.capture.fingerprint import SELECT, WRITES
from sqlperf.capture.loads import DEFERRED, EXPIRED, n_plus_one_advice, row_by_row_advice
from sqlperf.capture.recorder import _UNRESOLVED, CapturedStatement
from sqlperf.rule import Applicability, Finding, Fix, Severity

NAMES = {
    "SP501": "n-plus-one",
    "SP502": "duplicate-query",
    "SP503": "row-by-row-write",
    "SP504": "query-budget-exceeded",
}


@dataclass(frozen=True)
class Thresholds:
    """Every limit is exclusive: a statement repeated ``n_plus_one`` times is still fine."""

    n_plus_one: int = 2
    duplicate: int = 1
    row_by_row: int = 2
    max_queries: int | None = None


def detect(
    statements: list[CapturedStatement],
    thresholds: Thresholds = Thresholds(),
    *,
    root: str | Path | None = None,
    budget_site: CallSite | None = None,
    test_code: Callable[[str], bool] | None = None,
) -> list[Finding]:
    """The runtime findings of one scope's statements (those inside ``allow()`` excluded).

    ``test_code(filename)`` tells the files of the tests: a loop (or the one call that
    repeats a statement) running in a test is the test's doing, not the application's.
    """
    # One pass sorts the statements for every rule: the reads and single-row writes that have
    # a call site, and the reads by (shape, parameters, writes so far) for SP502.
    counted: list[CapturedStatement] = []
    reads: list[CapturedStatement] = []
    writes: list[CapturedStatement] = []
    same: dict[tuple, list[CapturedStatement]] = {}
    epoch = 0
    for statement in statements:
        if statement.allowed is not None:
            continue
        counted.append(statement)
        if statement._site is _UNRESOLVED:  # read before its capture ended
            statement._resolve_frames()
        shape = statement.shape
        kind = shape.kind
        if kind == SELECT:
            if statement._site is None:
                continue
            reads.append(statement)
            key = (shape.fingerprint, statement.parameters, epoch)
            try:
                members = same.get(key)
            except TypeError:  # parameters that do not hash (a dict, a list)
                key = (shape.fingerprint, _params_key(statement.parameters), epoch)
                members = same.get(key)
            if members is None:
                same[key] = [statement]
            else:
                members.append(statement)
        elif kind in WRITES:
            epoch += 1
            # executemany (and SQLAlchemy's own batching of one flush) is already the bulk form.
            if statement._site is not None and not statement.executemany:
                writes.append(statement)
    findings: list[Finding] = []
    findings += _repeated(reads, thresholds.n_plus_one, "SP501", root, reads=True, test_code=test_code)
    findings += _duplicates(same, thresholds.duplicate, root, test_code=test_code)
    findings += _repeated(writes, thresholds.row_by_row, "SP503", root, reads=False, test_code=test_code)
    if thresholds.max_queries is not None and len(counted) > thresholds.max_queries:
        findings.append(_budget(counted, thresholds.max_queries, root, budget_site))
    return findings


def _params_key(parameters) -> object:
    try:
        hash(parameters)
        return parameters
    except TypeError:
        if isinstance(parameters, dict):
            return tuple(sorted((k, repr(v)) for k, v in parameters.items()))
        return repr(parameters)


def _loop_groups(statements: Iterable[CapturedStatement]) -> dict[tuple, list[CapturedStatement]]:
    """Statements grouped by (shape, call site, the running call that repeats them).

    For each level above the call site there is one candidate key: the shape, the lines
    from the call site up to that level, and the activation at that level. The statements
    of one running function share one frames tuple (see recorder.finish), so the keys are
    made once per distinct (shape, frames), in the order the statements came.
    """
    alike: dict[tuple, list[CapturedStatement]] = {}
    for statement in statements:
        key = (statement.shape.fingerprint, id(statement._frames))
        members = alike.get(key)
        if members is None:
            alike[key] = [statement]
        else:
            members.append(statement)
    groups: dict[tuple, list[CapturedStatement]] = defaultdict(list)
    for members in alike.values():
        first = members[0]
        fingerprint = first.shape.fingerprint
        path: tuple = ()
        for level, (code, offset, activation) in enumerate(first._frames):
            path += ((id(code), offset),)
            groups[(fingerprint, path, level, activation)] += members
    return groups


def _varied(members: list[CapturedStatement]) -> bool:
    """Whether the members ran with at least two different parameter sets."""
    first = _params_key(members[0].parameters)
    return any(_params_key(m.parameters) != first for m in members)


def _repeated(pool, threshold: int, code: str, root, *, reads: bool, test_code=None) -> list[Finding]:
    """``pool``: the reads (SELECT) or the single-row writes that have a call site."""
    best: dict[tuple, tuple[int, int, list[CapturedStatement]]] = {}
    for (fingerprint, _path, level, _activation), members in _loop_groups(pool).items():
        if len(members) <= threshold:
            continue
        if level > 0 and _tests_loop(members[0], level, test_code):
            continue  # a test's loop calls the application once per item: not the application's loop
        if reads and not _varied(members):
            continue  # the same parameters every time: a duplicate (SP502), not a loop over rows
        site = members[0].call_site
        key = (fingerprint, site.path, site.line)
        current = best.get(key)
        if current is None or (len(members), -level) > (current[0], -current[1]):
            best[key] = (len(members), level, members)
    findings = []
    for (_fp, _path, _line), (count, level, members) in best.items():
        findings.append(_loop_finding(code, members, level, root))
    return findings


def _tests_loop(statement: CapturedStatement, level: int, test_code) -> bool:
    """Whether the application code at the call site is reached from a test at or below
    ``level`` calls up: whatever repeats it there is the test's doing (or pytest's, above)."""
    if test_code is None or level == 0 or test_code(statement.call_site.path):
        return False
    frames = statement.frames
    return any(test_code(frames[i][0].co_filename) for i in range(1, level + 1))


def _loop_finding(code: str, members: list[CapturedStatement], level: int, root) -> Finding:
    first = members[0]
    where = first.call_site.display(root)
    count = len(members)
    loop = ""
    if level > 0:
        loop_code, loop_offset, _ = first.frames[level]
        loop_line = line_of(loop_code, loop_offset)
        calls = f"{level} call{'s' if level > 1 else ''}"
        loop = f" (the loop is {calls} up, at {display_path(loop_code.co_filename, root)}:{loop_line} in {function_name(loop_code)})"
    if code == "SP501":
        entity = _entity_of(first)
        advice = n_plus_one_advice(first.load, first.entry, entity)
        load = first.load
        if first.relationship:
            what = f"{first.relationship} lazy-loaded {count} times"
        elif load is not None and load.kind == DEFERRED:
            what = f"deferred column {load.label} loaded {count} times, one row at a time,"
        elif load is not None and load.kind == EXPIRED:
            what = f"expired {load.parent} objects refreshed {count} times, one row at a time,"
        elif first.entry.rpartition(".")[2] == "get" and entity:
            what = f"session.get({entity[0]}, ...) ran {count} times"
        else:
            what = f"the same SELECT ran {count} times with different parameters"
        message = f"{what} from {where}{loop}."
    else:
        advice = row_by_row_advice(first.kind)
        message = f"{first.kind.upper()} sent one row at a time, {count} times, from {where}{loop}."
    return _finding(code, first, message, advice.text, advice.replacement, root, members)


def _duplicates(buckets: dict[tuple, list[CapturedStatement]], threshold: int, root, *, test_code=None) -> list[Finding]:
    """The same SELECT with the same parameters, with no write in between, inside one
    running call of some function (within the recorded frames). ``buckets``: the reads by
    (shape, parameters, how many writes came before), as :func:`detect` sorts them."""
    reported: dict[tuple, Finding] = {}
    for members in buckets.values():
        if len(members) <= threshold:
            continue
        by_activation: dict[int, list[CapturedStatement]] = defaultdict(list)
        for member in members:
            for level, (_code, _offset, activation) in enumerate(member._frames):
                if test_code is None or not _tests_loop(member, level, test_code):
                    by_activation[activation].append(member)
        if not by_activation:
            continue
        shared = max(by_activation.values(), key=len)
        if len(shared) <= threshold:
            continue
        first = shared[0]
        key = (first.fingerprint, first.call_site.path, first.call_site.line)
        if key in reported:
            continue
        sites = sorted({m.call_site.display(root) for m in shared})
        message = (
            f"The same SELECT with the same parameters ran {len(shared)} times from {', '.join(sites)} "
            "with no write in between."
        )
        help = "run it once and reuse the result (pass it along, or cache it for the request)"
        reported[key] = _finding("SP502", first, message, help, "reuse the first result", root, shared)
    return list(reported.values())


def most_frequent(statements: list[CapturedStatement], top: int = 3, root=None) -> str:
    """``3x SELECT comments.id, ... (views.py:14)`` for the statement shapes sent most often."""
    counts: dict[str, list[CapturedStatement]] = defaultdict(list)
    for statement in statements:
        counts[statement.fingerprint].append(statement)
    ranked = sorted(counts.values(), key=len, reverse=True)[:top]
    parts = []
    for members in ranked:
        sql = " ".join(members[0].text.split())
        sql = sql if len(sql) <= 70 else sql[:67] + "..."
        site = members[0].call_site
        where = f" ({display_path(site.path, root)}:{site.line})" if site else ""
        parts.append(f"{len(members)}x {sql}{where}")
    return "; ".join(parts)


def _budget(statements, budget: int, root, site: CallSite | None) -> Finding:
    first = statements[0]
    message = f"{len(statements)} statements ran where the budget is {budget}; most frequent: {most_frequent(statements, root=root)}."
    help = "load what the code needs in fewer statements (eager loading, one bulk statement), or raise the budget if the new work is intended"
    return _finding("SP504", first, message, help, "", root, statements, site=site or first.call_site)


def _entity_of(statement: CapturedStatement) -> tuple[str, str] | None:
    """The mapped class an ORM SELECT loads, and its primary key attribute."""
    element = getattr(statement.compiled, "statement", None)
    attrs = getattr(element, "_propagate_attrs", None) or {}
    mapper = getattr(attrs.get("plugin_subject"), "mapper", None)
    if mapper is None:
        return None
    try:
        key = mapper.get_property_by_column(mapper.primary_key[0]).key
    except Exception:  # composite or unusual keys: name the class, not the key
        key = "id"
    return mapper.class_.__name__, key


def _finding(code, first, message, help, replacement, root, members, *, site: CallSite | None = None) -> Finding:
    site = site or first.call_site
    path = display_path(site.path, root) if site else "<unknown>"
    line = site.line if site else 1
    return Finding(
        code=code,
        name=NAMES[code],
        message=message,
        help=help,
        path=path,
        line=line,
        column=1,
        end_line=line,
        end_column=1,
        severity=Severity.WARNING,
        fix=Fix(Applicability.DISPLAY, replacement=replacement, message=help) if replacement else None,
        statement_sql=first.text,
        data={
            "count": len(members),
            "call_site": site.display(root) if site else None,
            "function": site.function if site else None,
            "relationship": first.relationship,
            "fingerprint": first.shape.digest,
            "sql": first.text,
            "statements": [m.text for m in members[:1]],
        },
    )
