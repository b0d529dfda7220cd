"""``sqlperf.check(...)``: files in, findings out; fixes written or shown as a diff."""

from __future__ import annotations

import difflib
import fnmatch
import os
from dataclasses import dataclass, field
from pathlib import Path

from sqlperf.config import Settings
from sqlperf.engine import FileResult, Linter
from sqlperf.rule import Finding


@dataclass
class CheckResult:
    files: list[FileResult] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)  # for --verbose
    errors: list[str] = field(default_factory=list)  # one line each; any makes the exit code 2
    diffs: list[str] = field(default_factory=list)
    fixed: list[Finding] = field(default_factory=list)
    refused: list[tuple[Finding, str]] = field(default_factory=list)

    @property
    def findings(self) -> list[Finding]:
        return [f for r in self.files for f in r.findings]

    @property
    def statements(self) -> int:
        return sum(r.statements for r in self.files)

    @property
    def all_errors(self) -> list[str]:
        return self.errors + [e for r in self.files for e in r.errors]


def display_path(path: Path) -> str:
    try:
        return path.resolve().relative_to(Path.cwd().resolve()).as_posix()
    except ValueError:
        return path.as_posix()


def discover(paths: list[str | Path], settings: Settings) -> tuple[list[tuple[Path, str]], list[str]]:
    """Files to lint, in a stable order, and one error line per path that does not exist.

    A file named on the command line is always linted; directories are searched for the
    ``include`` globs, skipping ``exclude`` names.
    """
    found: dict[str, Path] = {}
    errors: list[str] = []
    for raw in paths:
        path = Path(raw)
        if path.is_file():
            found.setdefault(display_path(path), path)
        elif path.is_dir():
            for root, dirs, files in os.walk(path):
                dirs[:] = sorted(d for d in dirs if not _excluded(d, settings))
                for name in files:
                    if any(fnmatch.fnmatch(name, pat) for pat in settings.include) and not _excluded(name, settings):
                        file = Path(root) / name
                        found.setdefault(display_path(file), file)
        else:
            errors.append(f"{raw}: no such file or directory")
    return [(found[k], k) for k in sorted(found)], errors


def _excluded(name: str, settings: Settings) -> bool:
    return any(fnmatch.fnmatch(name, pat) for pat in settings.exclude)


def check(
    paths: list[str | Path],
    settings: Settings | None = None,
    *,
    schema=None,
    fix: bool = False,
    unsafe_fixes: bool = False,
    diff: bool = False,
    jobs: int | None = None,
    progress=None,
) -> CheckResult:
    settings = settings or Settings()
    linter = Linter(settings, schema=schema)
    files, errors = discover(paths, settings)
    result = CheckResult(notes=list(linter.notes), errors=errors + list(linter.registry.errors))
    for path, shown in files:
        file_result = linter.lint_path(path, shown)
        if (fix or diff) and not file_result.skipped and any(f.fix and f.fix.edits for f in file_result.findings):
            file_result = _fix_file(linter, path, shown, file_result, result, write=fix and not diff, unsafe=unsafe_fixes)
        result.files.append(file_result)
        if progress is not None:
            progress(shown)
    return result


def _fix_file(linter: Linter, path: Path, shown: str, first: FileResult, result: CheckResult, write: bool, unsafe: bool) -> FileResult:
    from sqlperf.fix import fix_text
    from sqlperf.source import SourceFile

    original = SourceFile.read(path, shown).text
    findings_by_text = {original: first}

    def lint(text: str) -> list[Finding]:
        if text not in findings_by_text:
            findings_by_text[text] = linter.lint_source(SourceFile(text, shown, path))
        return findings_by_text[text].findings

    fixed, applied, refused, _ = fix_text(original, lint, linter.dialect, unsafe=unsafe)
    result.refused.extend(refused)
    if fixed == original:
        return first
    if write:
        result.fixed.extend(applied)
        with open(path, "w", encoding="utf-8", newline="") as handle:
            handle.write(fixed)
        return findings_by_text[fixed]
    result.diffs.append(
        "".join(
            difflib.unified_diff(
                original.splitlines(keepends=True), fixed.splitlines(keepends=True), fromfile=f"a/{shown}", tofile=f"b/{shown}"
            )
        )
    )
    return first
