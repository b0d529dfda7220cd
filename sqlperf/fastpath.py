"""A fully cached ``sqlperf check`` without importing sqlglot, the rules or the engine.

A warm run of an unchanged tree used to cost more in start-up (sqlglot, every rule module,
building the rules to validate the selection and compute the cache key) than in reading the
cached results. The slow path, after a run that validated cleanly, writes a *manifest*: a
run key -> the per-file cache's context key (and the notes the run printed). The run key is
computed here from things that can be read without importing anything heavy:

- the tool version, the cache format, the interpreter and ``sys.path``;
- the settings fingerprint (configuration file and command-line options alike) and root;
- the (path, size, mtime) stamps of every ``.py`` file of sqlperf itself, of the built-in
  rule pack, of third-party rule packs and of the installed sqlglot (an edit changes them;
  reading and hashing the modules instead cost more than the rest of a warm run's own work);
- the bytes of every DDL file the schema settings name (a schema read from a live database
  or from SQLAlchemy models cannot be fingerprinted cheaply, so it disables the fast path).

If the manifest exists, each file is read and hashed (its per-file cache key). Plain output
(no colour) stored under the run key, the format, ``--verbose`` and those keys is replayed
as is; else the run is answered from the per-file entries and rendered (and that output
stored). Anything else (a miss, an unreadable file, a path that does not exist, any error)
returns None and the caller takes the ordinary path, which lints and fills the cache.
"""

from __future__ import annotations

import hashlib
import json
import os
import sys
from pathlib import Path

from sqlperf import cache as _cache

TYPE_CHECKING = False  # without importing typing: see sqlperf.config
if TYPE_CHECKING:
    from sqlperf.rule import Finding

MANIFEST_FORMAT = 1


class CachedFileResult:
    """The engine's FileResult, field for field, without importing the engine (or dataclasses)."""

    __slots__ = ("path", "findings", "statements", "errors", "skipped")

    def __init__(self, path: str, findings: list[Finding] | None = None, statements: int = 0,
                 errors: list[str] | None = None, skipped: bool = False) -> None:
        self.path = path
        self.findings = findings if findings is not None else []
        self.statements = statements
        self.errors = errors if errors is not None else []
        self.skipped = skipped


def run_key(settings) -> str | None:
    """Everything a run's findings depend on besides the files; None when it cannot be known cheaply."""
    if settings.schema_dsn or settings.schema_metadata or not settings.cache_dir:
        return None
    try:
        digest = hashlib.sha256()

        def part(text: str) -> None:
            digest.update(text.encode("utf-8", "surrogateescape"))
            digest.update(b"\0")

        part(f"manifest {MANIFEST_FORMAT} sqlperf {_cache.__version__} cache {_cache.FORMAT}")
        part(f"python {sys.version} {sys.executable} {sys.prefix}")
        part(repr(sys.path))
        part(settings.fingerprint())
        part(str(Path(settings.root).resolve()))
        _own_code(part)
        _rule_packs(part)
        _sqlglot(part)
        for ddl in _schema_files(settings):
            part(str(ddl))
            digest.update(hashlib.sha256(ddl.read_bytes()).digest())
        return digest.hexdigest()
    except Exception:  # noqa: BLE001 - anything unexpected: no fast path, never a wrong answer
        return None


def _own_code(part) -> None:
    import sqlperf

    for path in _python_files(os.path.dirname(sqlperf.__file__)):
        part(_stamp(path))


def _python_files(folder: str) -> list[str]:
    """Every ``.py`` file under ``folder``, in a stable order (plain strings: this runs on every warm run)."""
    found = []
    for root, dirs, files in os.walk(folder):
        dirs[:] = sorted(d for d in dirs if d != "__pycache__")
        found.extend(os.path.join(root, name) for name in sorted(files) if name.endswith(".py"))
    return found


def _stamp(path: str | Path) -> str:
    info = os.stat(path)
    return f"{path} {info.st_size} {info.st_mtime_ns}"


def _rule_packs(part) -> None:
    import importlib.util

    from sqlperf.entrypoints import BUILTIN_PACK, ENTRY_POINT_GROUP, entry_points

    points = sorted((ep.name, ep.value) for ep in entry_points(ENTRY_POINT_GROUP))
    part(repr(points))
    modules = {BUILTIN_PACK} | {value.partition(":")[0].strip() for _, value in points}
    for module in sorted(modules):
        if module == BUILTIN_PACK or module.startswith(BUILTIN_PACK + "."):
            # Its parent is sqlperf, already imported: finding the spec runs no rule code.
            spec = importlib.util.find_spec(BUILTIN_PACK)
            for folder in spec.submodule_search_locations:
                for path in _python_files(folder):
                    part(_stamp(path))
            continue
        # A third-party pack: only its top-level name is looked up (a dotted name would run
        # the parents' __init__), and everything below it is stamped.
        spec = importlib.util.find_spec(module.split(".")[0])
        if spec is None:
            part(f"{module} missing")
        elif spec.submodule_search_locations:
            for folder in spec.submodule_search_locations:
                for path in _python_files(folder):
                    part(_stamp(path))
        elif spec.origin:
            part(_stamp(Path(spec.origin)))


def _sqlglot(part) -> None:
    import importlib.util

    spec = importlib.util.find_spec("sqlglot")
    if spec is None or not spec.origin:
        raise LookupError("sqlglot not found")
    package = Path(spec.origin).parent
    for name in ("__init__.py", "_version.py"):
        candidate = package / name
        if candidate.exists():
            part(_stamp(candidate))
    # The distributions next to it (sqlglot, the sqlglotc accelerator) name their versions.
    part(repr(sorted(entry.name for entry in os.scandir(package.parent) if entry.name.lower().startswith("sqlglot"))))


def _schema_files(settings) -> list[Path]:
    """The DDL files ``settings.schema`` names, found as sqlperf.schema.ddl.expand_paths finds them."""
    import glob

    base = Path(settings.root)
    found: dict[Path, None] = {}
    for pattern in map(str, settings.schema):
        full = Path(pattern) if Path(pattern).is_absolute() else base / pattern
        if glob.has_magic(pattern):
            matches = sorted(Path(p) for p in glob.glob(str(full), recursive=True) if Path(p).is_file())
        elif full.is_dir():
            matches = sorted(p for p in full.rglob("*.sql") if p.is_file())
        elif full.is_file():
            matches = [full]
        else:
            matches = []
        if not matches:
            raise FileNotFoundError(pattern)  # the slow path reports it
        for match in matches:
            found.setdefault(match, None)
    return list(found)


def _manifest_path(root: Path, key: str) -> Path:
    return root / f"v{_cache.FORMAT}" / "runs" / f"{key[:40]}.json"


def write_manifest(root: Path, key: str, context: str, notes: list[str]) -> None:
    """Record that this run key validated cleanly and which cache context it uses."""
    body = json.dumps({"format": MANIFEST_FORMAT, "key": key, "context": context, "notes": list(notes)}).encode()
    _write_atomically(_manifest_path(root, key), body)


def output_key(key: str, fmt: str, verbose: bool, keyed: list[tuple[str, str]]) -> str:
    """Plain output depends on the run key, the format, --verbose and each file's (path, cache key)."""
    digest = hashlib.sha256(f"{key}\0{fmt}\0{verbose}\0".encode())
    for shown, entry_key in keyed:
        digest.update(f"{shown}\0{entry_key}\0".encode("utf-8", "surrogateescape"))
    return digest.hexdigest()


def _output_path(root: Path, output: str) -> Path:
    return root / f"v{_cache.FORMAT}" / "runs" / f"out-{output[:40]}.json"


def render_and_store(fmt: str, result, stream, *, verbose: bool, root: Path, output: str) -> None:
    """Render plain output and keep it for the next run with the same output key."""
    import io

    from sqlperf.output import render

    buffer = io.StringIO()
    render(fmt, result, buffer, color=False, verbose=verbose)
    text = buffer.getvalue()
    stream.write(text)
    # A JSON header line, then the output as is: decoding megabytes of JSON string costs more
    # than reading them.
    header = json.dumps({"key": output, "findings": bool(result.findings)}).encode()
    _write_atomically(_output_path(root, output), header + b"\n" + text.encode("utf-8", "surrogateescape"))


class CachedRun:
    """A run answered from the cache: its rendered output (replayed) or its results (rendered live)."""

    def __init__(self, result, has_findings: bool, output: str | None, root: Path, output_key: str) -> None:
        self.result = result  # a runner.CheckResult, or None when the output is replayed
        self.has_findings = has_findings
        self.output = output
        self._root = root
        self._output_key = output_key

    def render(self, fmt: str, stream, *, color, verbose: bool, plain: bool) -> None:
        if self.output is not None:
            stream.write(self.output)
        elif plain:
            render_and_store(fmt, self.result, stream, verbose=verbose, root=self._root, output=self._output_key)
        else:
            from sqlperf.output import render

            render(fmt, self.result, stream, color=color, verbose=verbose)


def _write_atomically(target: Path, body: bytes) -> None:
    import tempfile

    try:
        target.parent.mkdir(parents=True, exist_ok=True)
        handle, temp = tempfile.mkstemp(dir=target.parent, prefix=".partial.", suffix=".tmp")
        try:
            with os.fdopen(handle, "wb") as out:
                out.write(body)
            os.replace(temp, target)
        except BaseException:
            try:
                os.unlink(temp)
            except OSError:
                pass
            raise
    except OSError:
        pass


def cached_run(
    paths: list[str], settings, key: str, *, fmt: str, verbose: bool, plain: bool, replay_only: bool = False
) -> CachedRun | None:
    """The run the slow path would make, from the cache alone; None on any miss.

    ``plain``: the output has no colour (a file, a pipe, a machine format). Such output is a
    function of the results, the format and ``verbose`` alone, so it is stored and replayed
    whole: rendering thousands of findings costs more than everything else a warm run does.
    ``replay_only``: answer only with stored output (SARIF needs the rules' documentation,
    which a rendering from the cached results would import the rules for).
    """
    try:
        root = _cache.cache_root(settings)
        manifest = json.loads(_manifest_path(root, key).read_bytes())
        if manifest.get("format") != MANIFEST_FORMAT or manifest.get("key") != key:
            return None
        context = manifest["context"]
        notes = manifest["notes"]
        from sqlperf.discovery import discover

        files, errors = discover(paths, settings)
        if errors:
            return None
        keyed = [(shown, _cache.file_key(path.read_bytes(), shown)) for path, shown in files]
        output = output_key(key, fmt, verbose, keyed)
        if plain:
            try:
                header, _, body = _output_path(root, output).read_bytes().partition(b"\n")
                stored = json.loads(header)
            except (OSError, ValueError):
                stored = None
            if isinstance(stored, dict) and stored.get("key") == output:
                return CachedRun(None, bool(stored["findings"]), body.decode("utf-8", "surrogateescape"), root, output)
        if replay_only:
            return None
        folder = root / f"v{_cache.FORMAT}" / context[:32]
        marker = _cache._TUPLE.encode()
        results = []
        for _, entry_key in keyed:
            try:
                with open(folder / f"{entry_key}.json", "rb") as handle:
                    raw = handle.read()
            except OSError:
                return None
            entry = json.loads(raw)
            if entry.get("key") != entry_key or entry.get("context") != context:
                return None
            results.append(_cache.result_from_json(entry["result"], tagged=marker in raw, factory=CachedFileResult))
        from sqlperf.runner import CheckResult

        result = CheckResult(files=results, notes=list(notes))
        return CachedRun(result, bool(result.findings), None, root, output)
    except Exception:  # noqa: BLE001 - a fast path that is unsure gives way to the slow one
        return None
