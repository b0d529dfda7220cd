"""``--format text``: a code frame per finding, the help line, a summary. Colour only on a terminal."""

from __future__ import annotations

from pathlib import Path

from sqlperf.rule import Finding

_SEVERITY_STYLE = {"error": "bold red", "warning": "bold yellow", "info": "bold blue"}


class _Lines:
    """Source lines for code frames, read once per file."""

    def __init__(self) -> None:
        self._files: dict[str, list[str] | None] = {}

    def get(self, path: str, line: int) -> str | None:
        if path not in self._files:
            try:
                self._files[path] = Path(path).read_text(encoding="utf-8-sig", errors="replace").splitlines()
            except OSError:
                self._files[path] = None
        lines = self._files[path]
        if lines is None or not 1 <= line <= len(lines):
            return None
        return lines[line - 1]


def _frame(finding: Finding, lines: _Lines, max_width: int = 160) -> list[tuple[str, str]]:
    """(text, style) pieces of a one-line code frame with carets under the finding."""
    text = lines.get(finding.path, finding.line)
    if text is None:
        return []
    start = finding.column - 1
    end = finding.end_column - 1 if finding.end_line == finding.line else len(text)
    end = max(end, start + 1)
    # Long lines (minified SQL): show a window around the finding.
    offset = 0
    if len(text) > max_width:
        offset = max(0, start - 20)
        text = text[offset : offset + max_width]
    gutter = str(finding.line)
    pad = " " * len(gutter)
    caret_start = start - offset
    caret_len = max(1, min(end - start, len(text) - caret_start))
    return [
        (f" {pad} |\n", "blue"),
        (f" {gutter} | ", "blue"),
        (text.expandtabs(1) + "\n", ""),
        (f" {pad} | ", "blue"),
        (" " * caret_start + "^" * caret_len + "\n", _SEVERITY_STYLE[finding.severity.value]),
    ]


def _pieces(result, verbose: bool) -> list[tuple[str, str]]:
    lines = _Lines()
    out: list[tuple[str, str]] = []
    describe = None
    for f in result.findings:
        out.append((f"{f.path}:{f.line}:{f.column}: ", "bold"))
        out.append((f"{f.code} ", _SEVERITY_STYLE[f.severity.value]))
        out.append((f"[{f.name}] ", "dim"))
        out.append((f.message + "\n", ""))
        out.extend(_frame(f, lines))
        if f.help:
            out.append(("  = help: ", "cyan"))
            out.append((f.help + "\n", ""))
        if f.fix is not None and f.fix.edits:
            out.append(("  = fix: ", "cyan"))
            how = {"safe": "available with --fix", "unsafe": "available with --fix --unsafe-fixes"}.get(f.fix.applicability.value, "")
            out.append((f"{f.fix.applicability.value} ({how})\n", ""))
        if f.verification is not None:
            if describe is None:
                describe = _describer()
            out.append(("  = verified: ", "magenta"))
            out.append((describe(f.verification) + "\n", ""))
        out.append(("\n", ""))
    for message in result.all_errors:
        out.append(("error: ", "bold red"))
        out.append((message + "\n", ""))
    if verbose:
        for note in result.notes:
            out.append(("note: ", "bold blue"))
            out.append((note + "\n", ""))
    for finding, reason in result.refused:
        out.append(("fix refused: ", "bold yellow"))
        out.append((f"{finding.path}:{finding.line}:{finding.column} {finding.code}: {reason}\n", ""))
    out.append((_summary(result) + "\n", "bold"))
    return out


def _describer():
    try:
        from sqlperf.verify.format import describe
    except ImportError:
        return lambda v: f"{v.status}: {v.reason}"
    return describe


def _summary(result) -> str:
    findings = result.findings
    files = len(result.files)
    fixed = len(result.fixed)
    fixed_text = f" ({fixed} fixed)" if fixed else ""
    errors = len(result.all_errors)
    if not findings and errors:
        # Not "all checks passed": something could not be checked (exit code 2).
        return (
            f"No findings in {result.statements} statements in {files} file{'s' * (files != 1)}, "
            f"but {errors} error{'s' * (errors != 1)} above{fixed_text}."
        )
    if not findings:
        return f"All checks passed: {result.statements} statements in {files} file{'s' * (files != 1)}{fixed_text}."
    fixable = sum(1 for f in findings if f.fix is not None and f.fix.edits and f.fix.applicability.value == "safe")
    hint = f", {fixable} fixable with --fix" if fixable else ""
    return (
        f"Found {len(findings)} finding{'s' * (len(findings) != 1)} in {result.statements} statements "
        f"in {files} file{'s' * (files != 1)}{hint}{fixed_text}."
    )


def render(result, stream, *, color: bool | None = None, verbose: bool = False, **options) -> None:
    pieces = _pieces(result, verbose)
    if color is None:
        color = hasattr(stream, "isatty") and stream.isatty()
    if not color:
        stream.write("".join(text for text, _ in pieces))
        return
    from rich.console import Console
    from rich.text import Text

    console = Console(file=stream, force_terminal=True, highlight=False, soft_wrap=True)
    text = Text()
    for chunk, style in pieces:
        text.append(chunk, style=style or None)
    console.print(text, end="")
