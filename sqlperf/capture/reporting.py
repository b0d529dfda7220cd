"""Findings of captured SQL as text, as baseline entries, and as JSON or SARIF report files.

A baseline entry names the finding without its line number (code, file, function,
statement fingerprint), so editing lines above a known N+1 does not make it "new".
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Iterable

from sqlperf.rule import Finding

BASELINE_VERSION = 1


class BaselineError(Exception):
    """A baseline file that cannot be read: one clear message, no traceback."""


def describe_finding(finding: Finding, verbose: bool = False, indent: str = "") -> str:
    lines = [f"{indent}{finding.code} {finding.name}: {finding.message}"]
    site = finding.data.get("call_site") or f"{finding.path}:{finding.line}"
    if site not in finding.message:
        lines[0] += f" (from {site})"
    if finding.help:
        lines.append(f"{indent}  fix: {finding.help}")
    sql = finding.data.get("sql") or finding.statement_sql
    if verbose and sql:
        lines.append(f"{indent}  SQL: " + " ".join(sql.split()))
    return "\n".join(lines)


def describe_findings(findings: Iterable[Finding], verbose: bool = False, indent: str = "") -> str:
    return "\n".join(describe_finding(f, verbose, indent) for f in findings)


def baseline_key(entry: dict) -> tuple:
    return (entry.get("code"), entry.get("path"), entry.get("function") or "", entry.get("fingerprint") or "")


def baseline_entry(finding: Finding) -> dict:
    return {
        "code": finding.code,
        "path": finding.path,
        "function": finding.data.get("function") or "",
        "fingerprint": finding.data.get("fingerprint") or "",
        "message": finding.message,
    }


def load_baseline(path: Path) -> set[tuple]:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise BaselineError(
            f"sqlperf baseline {path} does not exist; create it with --sqlperf-update-baseline"
        ) from None
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as error:
        raise BaselineError(f"sqlperf baseline {path} is not readable JSON: {error}") from None
    if not isinstance(data, dict) or not isinstance(data.get("findings"), list):
        raise BaselineError(f"sqlperf baseline {path} has no 'findings' list; rewrite it with --sqlperf-update-baseline")
    return {baseline_key(entry) for entry in data["findings"] if isinstance(entry, dict)}


def write_baseline(path: Path, findings: Iterable[Finding]) -> int:
    entries = {baseline_key(e): e for e in map(baseline_entry, findings)}
    ordered = [entries[k] for k in sorted(entries, key=lambda k: tuple(str(p) for p in k))]
    path.parent.mkdir(parents=True, exist_ok=True)
    document = {"version": BASELINE_VERSION, "tool": "sqlperf", "findings": ordered}
    path.write_text(json.dumps(document, indent=2) + "\n", encoding="utf-8")
    return len(ordered)


def write_report(path: Path, findings: list[Finding], statements: int) -> None:
    """JSON (the shape of ``sqlperf check --format json``) or SARIF 2.1.0 for ``.sarif``."""
    path.parent.mkdir(parents=True, exist_ok=True)
    if path.suffix.lower() == ".sarif" or path.name.lower().endswith(".sarif.json"):
        from sqlperf.output.sarif_format import sarif_document

        document = sarif_document(findings)
        for result, finding in zip(document["runs"][0]["results"], findings):
            result.setdefault("properties", {}).update(_properties(finding))
    else:
        from sqlperf.output.json_format import document as json_document
        from sqlperf.output.json_format import finding_to_json

        document = json_document(findings, files=len({f.path for f in findings}), statements=statements)
        document["findings"] = [dict(finding_to_json(f), capture=_properties(f)) for f in findings]
    path.write_text(json.dumps(document, indent=2) + "\n", encoding="utf-8")


def _properties(finding: Finding) -> dict:
    """Where a captured finding came from: the tests, the call site, the SQL."""
    keep = ("tests", "call_site", "count", "relationship", "sql")
    return {key: finding.data[key] for key in keep if finding.data.get(key) is not None}
