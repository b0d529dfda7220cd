"""``sqlperf.check(...)``: files in, findings out; fixes written or shown as a diff."""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path

from typing import TYPE_CHECKING

from sqlperf.config import Settings
from sqlperf.discovery import discover
from sqlperf.rule import Finding

# The engine and the source model import sqlglot; the cache's fast path (sqlperf.fastpath)
# uses CheckResult from here and must not pay for that.
if TYPE_CHECKING:
    from sqlperf.engine import FileResult, Linter


@dataclass
class CheckResult:
    files: list[FileResult] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)  # for --verbose
    errors: list[str] = field(default_factory=list)  # one line each; any makes the exit code 2
    diffs: list[str] = field(default_factory=list)
    fixed: list[Finding] = field(default_factory=list)
    refused: list[tuple[Finding, str]] = field(default_factory=list)
    # Each file's (display path, cache key) when a run_key was given and every file was read:
    # the fast path keys the stored output by them.
    cache_keys: list[tuple[str, str]] | None = field(default=None, repr=False, compare=False)

    @property
    def findings(self) -> list[Finding]:
        return [f for r in self.files for f in r.findings]

    @property
    def statements(self) -> int:
        return sum(r.statements for r in self.files)

    @property
    def all_errors(self) -> list[str]:
        return self.errors + [e for r in self.files for e in r.errors]


# Below this much SQL to lint, starting worker processes costs more than it saves: a forked
# worker is ready in tens of milliseconds, and sqlglot parses roughly a megabyte a second.
PARALLEL_MIN_BYTES = 128 * 1024
PARALLEL_MIN_FILES = 8


def default_jobs() -> int:
    try:
        return len(os.sched_getaffinity(0))
    except (AttributeError, OSError):
        return os.cpu_count() or 1


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
    run_key: str | None = None,
) -> CheckResult:
    """Lint ``paths``; results come back in discovery order, however the work was spread.

    ``jobs`` (default: the number of cores) caps the worker processes; a small run stays in
    this process. ``progress`` is called with each file's display path as it is done; if it
    also has a ``start(total)`` method, that is called first with the number of files.
    ``run_key`` (from sqlperf.fastpath.run_key, only when ``schema`` was loaded from those
    same settings) records this configuration for the fast path of later runs.
    """
    from sqlperf.engine import Linter

    settings = settings or Settings()
    linter = Linter(settings, schema=schema)
    files, errors = discover(paths, settings)
    result = CheckResult(notes=list(linter.notes), errors=errors + list(linter.registry.errors))
    if progress is not None and hasattr(progress, "start"):
        progress.start(len(files))
    cache = _open_cache(settings, schema, linter)
    results: list[FileResult | None] = [None] * len(files)
    file_keys: list[str | None] = [None] * len(files)
    todo: list[tuple[int, Path, str, bytes | None, str | None]] = []
    work_bytes = 0
    for index, (path, shown) in enumerate(files):
        data = key = None
        if cache is not None:
            try:
                data = path.read_bytes()
            except OSError:
                pass  # lint_path reports it in its own words
            else:
                key = file_keys[index] = cache.file_key(data, shown)
                cached = cache.load(key)
                if cached is not None:
                    results[index] = cached
                    if progress is not None:
                        progress(shown)
                    continue
        todo.append((index, path, shown, data, key))
        work_bytes += len(data) if data is not None else _size(path)

    jobs = jobs or settings.jobs or default_jobs()
    if jobs > 1 and len(todo) >= PARALLEL_MIN_FILES and work_bytes >= PARALLEL_MIN_BYTES:
        done = _lint_in_workers(settings, schema, cache, todo, min(jobs, len(todo)), progress)
    else:
        done = _lint_here(linter, cache, todo, progress)
    for index, file_result in done:
        results[index] = file_result

    for (path, shown), file_result in zip(files, results):
        if (fix or diff) and not file_result.skipped and any(f.fix and f.fix.edits for f in file_result.findings):
            file_result = _fix_file(linter, path, shown, file_result, result, write=fix and not diff, unsafe=unsafe_fixes)
        result.files.append(file_result)
    if run_key is not None and cache is not None and not linter.registry.errors:
        from sqlperf.fastpath import write_manifest

        write_manifest(cache.root, run_key, cache.context, linter.notes)
        if None not in file_keys:
            result.cache_keys = [(shown, key) for (_, shown), key in zip(files, file_keys)]
    return result


def _open_cache(settings: Settings, schema, linter: Linter):
    if not settings.cache_dir:
        return None
    from sqlperf.cache import ResultCache, cache_root, context_key

    return ResultCache(cache_root(settings), context_key(settings, schema, linter.registry))


def _size(path: Path) -> int:
    try:
        return path.stat().st_size
    except OSError:
        return 0


def _lint_one(linter: Linter, cache, path: Path, shown: str, data: bytes | None, key: str | None) -> FileResult:
    from sqlperf.engine import FileResult
    from sqlperf.source import SourceError, SourceFile

    if data is None:
        return linter.lint_path(path, shown)
    try:
        source = SourceFile.from_bytes(data, shown, path)
    except SourceError as error:
        return FileResult(shown, errors=[str(error)], skipped=True)
    file_result = linter.lint_source(source)
    # A result with errors (a crashed rule, say) is not worth keeping: the next run should retry.
    if key is not None and not file_result.errors:
        cache.store(key, file_result)
    return file_result


def _lint_here(linter: Linter, cache, todo, progress) -> list[tuple[int, FileResult]]:
    done = []
    for index, path, shown, data, key in todo:
        done.append((index, _lint_one(linter, cache, path, shown, data, key)))
        if progress is not None:
            progress(shown)
    return done


# -- worker processes ----------------------------------------------------------------------------
_WORKER: dict = {}


def _start_worker(settings: Settings, schema, cache) -> None:
    from sqlperf.engine import Linter
    from sqlperf.gcpolicy import freeze_imports

    # Rules are built once per worker, not per file.
    _WORKER["linter"] = Linter(settings, schema=schema)
    _WORKER["cache"] = cache
    freeze_imports()  # the worker's own process: nothing of a caller's to keep collectable


def _lint_chunk(chunk) -> list[tuple[int, FileResult]]:
    linter, cache = _WORKER["linter"], _WORKER["cache"]
    return [(index, _lint_one(linter, cache, path, shown, data, key)) for index, path, shown, data, key in chunk]


def _lint_in_workers(settings: Settings, schema, cache, todo, jobs: int, progress) -> list[tuple[int, FileResult]]:
    from concurrent.futures import ProcessPoolExecutor, as_completed
    from concurrent.futures.process import BrokenProcessPool

    # Big files first, so that one late giant does not leave the other cores idle at the end;
    # several chunks per worker keep the load even without paying a round trip per file.
    ordered = sorted(todo, key=lambda item: -(len(item[3]) if item[3] is not None else _size(item[1])))
    chunks: list[list] = [[] for _ in range(min(len(ordered), jobs * 8))]
    for position, item in enumerate(ordered):
        chunks[position % len(chunks)].append(item)
    done: list[tuple[int, FileResult]] = []
    try:
        with ProcessPoolExecutor(max_workers=jobs, initializer=_start_worker, initargs=(settings, schema, cache)) as pool:
            futures = [pool.submit(_lint_chunk, chunk) for chunk in chunks]
            for future in as_completed(futures):
                finished = future.result()
                done.extend(finished)
                if progress is not None:
                    for _, file_result in finished:
                        progress(file_result.path)
    except BrokenProcessPool:
        # A worker died (out of memory, killed): finish what it left in this process.
        from sqlperf.engine import Linter

        finished_indexes = {index for index, _ in done}
        linter = Linter(settings, schema=schema)
        done.extend(_lint_here(linter, cache, [item for item in todo if item[0] not in finished_indexes], progress))
    return done


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
    import difflib

    result.diffs.append(
        "".join(
            difflib.unified_diff(
                original.splitlines(keepends=True), fixed.splitlines(keepends=True), fromfile=f"a/{shown}", tofile=f"b/{shown}"
            )
        )
    )
    return first
