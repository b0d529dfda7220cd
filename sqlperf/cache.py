"""The result cache: a file's findings, reused while nothing they depend on has changed.

An entry is keyed by the file's bytes and its display path (findings carry the path, and
per-file-ignores match on it) under a *context* key made of everything else a result
depends on: the tool and sqlglot versions, the settings fingerprint, the schema, and every
rule module's version. Entries of one context live in one folder, so a run never even
looks at results from another version or configuration.

Entries are JSON, never pickle: a cache folder may come from a CI cache or a shared disk,
and loading it must not be able to run code. Writes go to a temporary file that is then
renamed over the entry, so two runs sharing the folder never see half an entry; a corrupt
or foreign entry is ignored and overwritten.
"""

from __future__ import annotations

import hashlib
import json
import os
import sys
from pathlib import Path

from sqlperf._version import __version__

# The fast path (sqlperf.fastpath) decodes entries without importing the engine or sqlglot.
TYPE_CHECKING = False  # typing.TYPE_CHECKING without importing typing: see sqlperf.config
if TYPE_CHECKING:
    from sqlperf.engine import FileResult
    from sqlperf.rule import Finding

# Bumped whenever the entry layout below changes.
FORMAT = 2

# Modules of sqlperf itself whose code decides what a rule sees. An editable install keeps
# its version number while this code changes, so their bytes are part of the key.
_CORE_MODULES = ("analysis", "context", "engine", "rule", "source", "spans", "config", "registry")


def context_key(settings, schema, registry) -> str:
    """Everything but the file itself that a file's result depends on, as one hash."""
    import sqlglot

    digest = hashlib.sha256()
    parts = [
        f"sqlperf {__version__} format {FORMAT}",
        f"sqlglot {sqlglot.__version__}",
        f"python {sys.version_info[:2]}",
        settings.fingerprint(),
        schema_fingerprint(schema),
    ]
    for part in parts:
        digest.update(part.encode())
        digest.update(b"\0")
    package = Path(__file__).parent
    for name in _CORE_MODULES:
        digest.update(_file_bytes(package / f"{name}.py"))
    for code in sorted(registry.rules):
        digest.update(f"{code}\0{rule_module_version(registry.rules[code])}\0".encode())
    return digest.hexdigest()


def cache_root(settings) -> Path:
    root = Path(settings.cache_dir)
    return root if root.is_absolute() else Path(settings.root) / root


def schema_fingerprint(schema) -> str:
    if not schema:
        return "no schema"
    own = getattr(schema, "fingerprint", None)
    if callable(own):
        return str(own())
    # The schema model is plain dataclasses in insertion order, so their repr is a stable dump.
    return hashlib.sha256(repr(schema).encode()).hexdigest()


def rule_module_version(rule: type) -> str:
    """A third-party pack's declared ``__version__``, else the bytes of the rule's module."""
    module = sys.modules.get(rule.__module__)
    declared = getattr(module, "__version__", None)
    if declared is not None:
        return f"{rule.__module__} {declared}"
    path = getattr(module, "__file__", None)
    if not path:
        return f"{rule.__module__} unknown"
    return f"{rule.__module__} {hashlib.sha256(_file_bytes(Path(path))).hexdigest()}"


def _file_bytes(path: Path) -> bytes:
    try:
        return path.read_bytes()
    except OSError:
        return b"missing"


def file_key(data: bytes, display_path: str) -> str:
    digest = hashlib.sha256(display_path.encode("utf-8", "surrogateescape"))
    digest.update(b"\0")
    digest.update(data)
    return digest.hexdigest()


class ResultCache:
    """One context's entries under ``root``; every failure to read or write is a miss."""

    def __init__(self, root: str | Path, context: str) -> None:
        self.root = Path(root)
        self.context = context
        self.folder = self.root / f"v{FORMAT}" / context[:32]
        self._ready = False

    file_key = staticmethod(file_key)

    def load(self, key: str) -> FileResult | None:
        try:
            with open(self.folder / f"{key}.json", "rb") as handle:
                raw = handle.read()
            entry = json.loads(raw)
            if entry.get("key") != key or entry.get("context") != self.context:
                return None
            return result_from_json(entry["result"], tagged=_TUPLE.encode() in raw)
        except Exception:  # noqa: BLE001 - missing, truncated or foreign: lint the file again
            return None

    def store(self, key: str, result: FileResult) -> bool:
        """Write one entry; False when the result cannot be stored exactly (it is then not cached)."""
        encoded = result_to_json(result)
        try:
            if result_from_json(json.loads(json.dumps(encoded))) != result:
                return False
        except Exception:  # noqa: BLE001 - rule data that JSON cannot carry
            return False
        body = json.dumps({"key": key, "context": self.context, "result": encoded}, separators=(",", ":")).encode()
        import tempfile

        try:
            self._prepare()
            handle, temp = tempfile.mkstemp(dir=self.folder, prefix=f".{key[:16]}.", suffix=".tmp")
            try:
                with os.fdopen(handle, "wb") as out:
                    out.write(body)
                os.replace(temp, self.folder / f"{key}.json")
            except BaseException:
                _remove(temp)
                raise
        except OSError:
            return False
        return True

    def _prepare(self) -> None:
        if self._ready:
            return
        self.folder.mkdir(parents=True, exist_ok=True)
        # Like pytest's and ruff's caches: invisible to git and to backup tools.
        for name, text in ((".gitignore", "# created by sqlperf\n*\n"), ("CACHEDIR.TAG", "Signature: 8a477f597d28d172789f06886806bc55\n")):
            marker = self.root / name
            if not marker.exists():
                try:
                    marker.write_text(text, encoding="utf-8")
                except OSError:
                    pass
        self._ready = True


def _remove(path: str) -> None:
    try:
        os.unlink(path)
    except OSError:
        pass


# -- exact JSON round trip of FileResult ----------------------------------------------------------
# Rule ``data`` may hold tuples; JSON has only lists, so tuples travel tagged.
_TUPLE = "__tuple__"


def _plain(value):
    if isinstance(value, tuple):
        return {_TUPLE: [_plain(v) for v in value]}
    if isinstance(value, list):
        return [_plain(v) for v in value]
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    return value


def _unplain(value):
    if isinstance(value, list):
        return [_unplain(v) for v in value]
    if isinstance(value, dict):
        if len(value) == 1 and _TUPLE in value:
            return tuple(_unplain(v) for v in value[_TUPLE])
        return {k: _unplain(v) for k, v in value.items()}
    return value


_FINDING_FIELDS = (
    "code", "name", "message", "path", "line", "column", "end_line", "end_column", "help", "start", "end",
    "statement_index", "statement_sql",
)


# A finding is stored as a list (the fields above, then severity, data, fix, verification):
# warm runs decode thousands of them, and lists decode faster and smaller than objects.
def finding_to_json(finding: Finding) -> list:
    fix = finding.fix
    return [
        *(getattr(finding, name) for name in _FINDING_FIELDS),
        finding.severity.value,
        _plain(finding.data),
        None if fix is None else [fix.applicability.value, [[e.start, e.end, e.content] for e in fix.edits], fix.replacement, fix.message],
        None if finding.verification is None else _plain(vars(finding.verification)),
    ]


def finding_from_json(data: list, tagged: bool = True) -> Finding:
    # Imported here: a warm run that replays its stored output never decodes a finding.
    from sqlperf.rule import Applicability, Edit, Finding, Fix, Severity, Verification

    *fields, severity, extra, fix, verification = data
    return Finding(
        **dict(zip(_FINDING_FIELDS, fields)),
        severity=Severity(severity),
        data=_unplain(extra) if tagged else extra,
        fix=None if fix is None else Fix(Applicability(fix[0]), [Edit(*edit) for edit in fix[1]], fix[2], fix[3]),
        verification=None if verification is None else Verification(**(_unplain(verification) if tagged else verification)),
    )


def result_to_json(result: FileResult) -> dict:
    return {
        "path": result.path,
        "statements": result.statements,
        "errors": list(result.errors),
        "skipped": result.skipped,
        "findings": [finding_to_json(f) for f in result.findings],
    }


def result_from_json(data: dict, tagged: bool = True, factory=None) -> FileResult:
    """``tagged=False`` when the entry's text holds no tuple tag at all: nothing to convert back.

    ``factory`` builds the result object (default: the engine's FileResult).
    """
    if factory is None:
        from sqlperf.engine import FileResult as factory
    return factory(
        data["path"],
        findings=[finding_from_json(f, tagged) for f in data["findings"]],
        statements=data["statements"],
        errors=list(data["errors"]),
        skipped=data["skipped"],
    )
