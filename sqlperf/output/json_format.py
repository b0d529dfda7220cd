"""``--format json``: exactly the shape documented in DESIGN.md."""

from __future__ import annotations

import json

from sqlperf._version import __version__
from sqlperf.rule import Finding


def finding_to_json(finding: Finding, source_text: str | None = None) -> dict:
    fix = None
    if finding.fix is not None:
        fix = {
            "applicability": finding.fix.applicability.value,
            "replacement": finding.fix.replacement,
            "message": finding.fix.message,
            "edits": [{"start": e.start, "end": e.end, "content": e.content} for e in finding.fix.edits],
        }
    return {
        "code": finding.code,
        "name": finding.name,
        "severity": finding.severity.value,
        "path": finding.path,
        "line": finding.line,
        "column": finding.column,
        "end_line": finding.end_line,
        "end_column": finding.end_column,
        "message": finding.message,
        "help": finding.help,
        "fix": fix,
        "verification": finding.verification.to_json() if finding.verification is not None else None,
    }


def document(findings: list[Finding], files: int, statements: int) -> dict:
    return {
        "version": __version__,
        "findings": [finding_to_json(f) for f in findings],
        "summary": {"files": files, "statements": statements, "findings": len(findings)},
    }


def render(result, stream, **options) -> None:
    # One write of the whole text: json.dump with indent hands the stream one tiny piece per
    # token, which costs more than encoding itself on a few thousand findings.
    stream.write(json.dumps(document(result.findings, len(result.files), result.statements), indent=2))
    stream.write("\n")
