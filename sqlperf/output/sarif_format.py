"""``--format sarif``: SARIF 2.1.0 for code scanning (GitHub, GitLab, Azure DevOps)."""

from __future__ import annotations

import json

from sqlperf._version import __version__
from sqlperf.rule import Finding

SCHEMA = "https://json.schemastore.org/sarif-2.1.0.json"
_LEVEL = {"error": "error", "warning": "warning", "info": "note"}


def _first_paragraph(doc: str, heading: str) -> str:
    from sqlperf.docs import section

    text = section(doc, heading)
    return text.split("\n\n")[0].replace("\n", " ").strip() if text else ""


def sarif_document(findings: list[Finding]) -> dict:
    from sqlperf.registry import load_registry

    registry = load_registry()
    codes = sorted({f.code for f in findings})
    rules = []
    for code in codes:
        rule = registry.rules.get(code)
        doc = rule.doc() if rule else ""
        entry = {
            "id": code,
            "name": rule.name if rule else code,
            "shortDescription": {"text": _first_paragraph(doc, "What it does") or code},
            "fullDescription": {"text": _first_paragraph(doc, "Why is this bad?") or code},
            "help": {"text": doc or code, "markdown": doc or code},
            "defaultConfiguration": {"level": _LEVEL[(rule.severity.value if rule else "warning")]},
        }
        rules.append(entry)
    index = {code: i for i, code in enumerate(codes)}
    results = []
    for f in findings:
        result = {
            "ruleId": f.code,
            "ruleIndex": index[f.code],
            "level": _LEVEL[f.severity.value],
            "message": {"text": f.message + (f" Help: {f.help}" if f.help else "")},
            "locations": [
                {
                    "physicalLocation": {
                        "artifactLocation": {"uri": f.path.replace("\\", "/"), "uriBaseId": "%SRCROOT%"},
                        "region": {
                            "startLine": f.line,
                            "startColumn": f.column,
                            "endLine": f.end_line,
                            "endColumn": max(f.end_column, 1),
                        },
                    }
                }
            ],
        }
        if f.verification is not None:
            result["properties"] = {"verification": f.verification.to_json()}
        results.append(result)
    return {
        "$schema": SCHEMA,
        "version": "2.1.0",
        "runs": [
            {
                "tool": {
                    "driver": {
                        "name": "sqlperf",
                        "version": __version__,
                        "semanticVersion": __version__,
                        "rules": rules,
                    }
                },
                "results": results,
            }
        ],
    }


def render(result, stream, **options) -> None:
    document = sarif_document(result.findings)
    json.dump(document, stream, indent=2)
    stream.write("\n")
