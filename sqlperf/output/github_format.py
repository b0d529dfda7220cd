"""``--format github``: GitHub Actions workflow commands, one annotation per finding."""

from __future__ import annotations

_LEVEL = {"error": "error", "warning": "warning", "info": "notice"}


def _escape_data(text: str) -> str:
    return text.replace("%", "%25").replace("\r", "%0D").replace("\n", "%0A")


def _escape_property(text: str) -> str:
    return _escape_data(text).replace(":", "%3A").replace(",", "%2C")


def render(result, stream, **options) -> None:
    for f in result.findings:
        props = (
            f"file={_escape_property(f.path)},line={f.line},col={f.column},endLine={f.end_line},"
            f"endColumn={f.end_column},title={_escape_property(f'{f.code} {f.name}')}"
        )
        message = f.message + (f"\n{f.help}" if f.help else "")
        stream.write(f"::{_LEVEL[f.severity.value]} {props}::{_escape_data(message)}\n")
