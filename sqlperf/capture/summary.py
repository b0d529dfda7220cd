"""Findings across a whole test session: one entry per (rule, call site), whichever tests hit it.

Findings travel from a pytest-xdist worker to the controller as plain dicts on the test
report, so the same code path serves a single process and many workers.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace

from sqlperf.rule import Applicability, Finding, Fix, Severity


def finding_to_dict(finding: Finding) -> dict:
    return {
        "code": finding.code,
        "name": finding.name,
        "message": finding.message,
        "help": finding.help,
        "path": finding.path,
        "line": finding.line,
        "severity": finding.severity.value,
        "replacement": finding.fix.replacement if finding.fix is not None else None,
        "sql": finding.statement_sql,
        "data": {k: v for k, v in finding.data.items() if isinstance(v, (str, int, float, bool, list, type(None)))},
    }


def finding_from_dict(data: dict) -> Finding:
    replacement = data.get("replacement")
    fix = Fix(Applicability.DISPLAY, replacement=replacement, message=data.get("help", "")) if replacement else None
    return Finding(
        code=data["code"],
        name=data["name"],
        message=data["message"],
        help=data.get("help", ""),
        path=data["path"],
        line=data["line"],
        column=1,
        end_line=data["line"],
        end_column=1,
        severity=Severity(data.get("severity", "warning")),
        fix=fix,
        statement_sql=data.get("sql", ""),
        data=dict(data.get("data") or {}),
    )


def is_runtime(finding: Finding) -> bool:
    """SP5xx: what the run itself showed (N+1, duplicates, row-by-row writes, budgets). The
    rest is what the static rules say of the captured SQL: advice about production's data."""
    return finding.code.startswith("SP5")


def site_key(finding: Finding) -> tuple:
    return (finding.code, finding.path, finding.line)


def one_per_site(findings: list[Finding]) -> list[Finding]:
    """At most one finding per (rule, call site): a line that lazy-loads two relationships
    in one loop is one thing to fix, so the others ride along as ``also``."""
    kept: dict[tuple, Finding] = {}
    for finding in findings:
        first = kept.get(site_key(finding))
        if first is None:
            kept[site_key(finding)] = replace(finding, data=dict(finding.data))
        elif finding.message != first.message:
            first.data.setdefault("also", []).append(finding.message)
    return list(kept.values())


@dataclass
class Entry:
    finding: Finding
    tests: list[str] = field(default_factory=list)
    baselined: bool = False


@dataclass
class SessionFindings:
    """Everything the session found, merged by (rule, call site)."""

    entries: dict[tuple, Entry] = field(default_factory=dict)
    statements: int = 0
    tests: int = 0

    def add(self, nodeid: str, findings: list[dict], baselined: list[dict], statements: int) -> None:
        self.tests += 1
        self.statements += statements
        for data, is_baselined in [(d, False) for d in findings] + [(d, True) for d in baselined]:
            finding = finding_from_dict(data)
            key = site_key(finding)
            entry = self.entries.get(key)
            if entry is None:
                entry = self.entries[key] = Entry(finding, baselined=is_baselined)
            elif finding.data.get("count", 0) > entry.finding.data.get("count", 0):
                entry.finding = finding  # show the worst repetition seen
            if nodeid not in entry.tests:
                entry.tests.append(nodeid)

    def findings(self, include_baselined: bool = True) -> list[Finding]:
        out = []
        for entry in self.sorted_entries():
            if entry.baselined and not include_baselined:
                continue
            finding = entry.finding
            finding.data["tests"] = list(entry.tests)
            out.append(finding)
        return out

    def sorted_entries(self) -> list[Entry]:
        return sorted(self.entries.values(), key=lambda e: (e.baselined, e.finding.code, e.finding.path, e.finding.line))

    def lines(self, verbose: bool = False) -> list[str]:
        out: list[str] = []
        for entry in self.sorted_entries():
            f = entry.finding
            mark = " [baselined]" if entry.baselined else ""
            site = f.data.get("call_site") or f"{f.path}:{f.line}"
            head = f"{f.code} {f.name}{mark}: {f.message}"
            if site not in f.message:
                head += f" (from {site})"
            out.append(head)
            for also in f.data.get("also") or ():
                out.append(f"  also: {also}")
            if f.help:
                out.append(f"  fix: {f.help}")
            tests = entry.tests
            shown = ", ".join(tests[:3]) + (f" and {len(tests) - 3} more" if len(tests) > 3 else "")
            out.append(f"  in: {shown}")
            if verbose and (f.data.get("sql") or f.statement_sql):
                out.append("  SQL: " + " ".join((f.data.get("sql") or f.statement_sql).split()))
        return out
