"""Settings from ``[tool.sqlperf]`` in pyproject.toml or from sqlperf.toml, and rule selection."""

from __future__ import annotations

import fnmatch
import re
from pathlib import Path

TYPE_CHECKING = False  # typing.TYPE_CHECKING without importing typing (a warm run's start-up)
if TYPE_CHECKING:
    from typing import Any, Callable

    from sqlperf.registry import Registry

DEFAULT_INCLUDE = ["*.sql"]
DEFAULT_EXCLUDE = [".git", ".venv", "venv", "node_modules", "__pycache__", ".sqlperf_cache", ".tox", "build", "dist"]
# Free-form tables read by the subsystems that own them (verify, report, capture).
_SECTIONS = ("verify", "report", "capture")


class ConfigError(Exception):
    """A configuration problem: one line for the user, exit code 2."""


# Each setting and its default (a fresh value per Settings, as for a mutable default).
_DEFAULTS: dict[str, Callable[[], Any]] = {
    "dialect": lambda: "postgres",
    "select": lambda: None,
    "extend_select": list,
    "ignore": list,
    "per_file_ignores": dict,  # glob -> codes
    "include": lambda: list(DEFAULT_INCLUDE),
    "exclude": lambda: list(DEFAULT_EXCLUDE),
    "schema": list,
    "schema_dsn": lambda: None,
    "schema_metadata": lambda: None,
    "rules": dict,  # rule code or name -> options
    "cache_dir": lambda: ".sqlperf_cache",
    "jobs": lambda: None,
    "verify": dict,
    "report": dict,
    "capture": dict,
    # Where the settings came from; relative paths in them are relative to ``root``.
    "config_path": lambda: None,
    "root": Path.cwd,
}


class Settings:
    """One run's settings. A plain class, not a dataclass: a warm run reads its answer from the
    cache before anything else, and importing ``dataclasses`` (with ``inspect``) cost it a tenth."""

    __slots__ = tuple(_DEFAULTS)

    dialect: str
    select: list[str] | None
    extend_select: list[str]
    ignore: list[str]
    per_file_ignores: dict[str, list[str]]
    include: list[str]
    exclude: list[str]
    schema: list[str]
    schema_dsn: str | None
    schema_metadata: str | None
    rules: dict[str, dict[str, Any]]
    cache_dir: str | None
    jobs: int | None
    verify: dict[str, Any]
    report: dict[str, Any]
    capture: dict[str, Any]
    config_path: Path | None
    root: Path

    def __init__(self, **values: Any) -> None:
        unknown = values.keys() - _DEFAULTS.keys()
        if unknown:
            raise TypeError(f"Settings() got unexpected settings: {', '.join(sorted(unknown))}")
        for name, default in _DEFAULTS.items():
            setattr(self, name, values[name] if name in values else default())

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Settings):
            return NotImplemented
        return all(getattr(self, name) == getattr(other, name) for name in _DEFAULTS)

    def __repr__(self) -> str:
        return "Settings(" + ", ".join(f"{name}={getattr(self, name)!r}" for name in _DEFAULTS) + ")"

    def fingerprint(self) -> str:
        """What a cached result depends on (everything but where the config file lives)."""
        import json

        data = {name: getattr(self, name) for name in _DEFAULTS if name not in ("config_path", "root", "jobs", "cache_dir")}
        return json.dumps(data, sort_keys=True, default=str)


_KEYS = {name.replace("_", "-"): name for name in _DEFAULTS if name not in ("config_path", "root")}


def find_config(start: Path) -> Path | None:
    """The nearest sqlperf.toml, or pyproject.toml with a [tool.sqlperf] table, at or above ``start``."""
    directory = start if start.is_dir() else start.parent
    directory = directory.resolve()
    for folder in (directory, *directory.parents):
        for name in ("sqlperf.toml", ".sqlperf.toml"):
            candidate = folder / name
            if candidate.is_file():
                return candidate
        pyproject = folder / "pyproject.toml"
        if pyproject.is_file():
            try:
                text = pyproject.read_text(encoding="utf-8")
            except (OSError, UnicodeDecodeError):
                text = pyproject.read_text(errors="replace")
            if not _may_configure_sqlperf(text):
                continue  # no need to parse it (importing tomllib is a tenth of a warm run)
            try:
                if "sqlperf" in _read_toml(pyproject).get("tool", {}):
                    return pyproject
            except ConfigError:
                # A broken pyproject that never mentions us is someone else's problem.
                if "[tool.sqlperf" in text:
                    return pyproject
    return None


_UNQUOTE = re.compile(r"[\s\"']")
_STRINGS = re.compile(r'"(?:[^"\\]|\\.)*"|\'[^\']*\'')
_HEADER = re.compile(r"^\[\[?(?P<name>[^\[\]]*)\]\]?\s*(?:#.*)?$")


def _may_configure_sqlperf(text: str) -> bool:
    """False only when ``text`` certainly defines no ``tool.sqlperf`` table: no such table header,
    no ``sqlperf`` key under ``[tool]``, no ``tool.sqlperf`` dotted key or inline table. Anything
    this line scanner is unsure of (a multi-line string, an odd header) answers True, leaving it
    to the TOML parser."""
    if '"""' in text or "'''" in text:
        return True
    table = ""
    depth = 0  # open brackets of an array value that spans lines
    for line in text.splitlines():
        code = _STRINGS.sub('""', line).split("#", 1)[0].strip()
        if not code:
            continue
        if depth:
            depth += code.count("[") - code.count("]")
            if depth < 0:
                return True
            continue
        if code.startswith("["):
            header = _HEADER.match(line.strip())
            if header is None:
                return True
            table = _UNQUOTE.sub("", header.group("name"))
            if table == "tool.sqlperf" or table.startswith("tool.sqlperf."):
                return True
            continue
        if "=" not in code:
            continue
        key, value = line.split("=", 1)
        code_value = code.split("=", 1)[1]
        depth = max(code_value.count("[") - code_value.count("]"), 0)
        key = _UNQUOTE.sub("", key)
        full = f"{table}.{key}" if table else key
        if full == "tool.sqlperf" or full.startswith("tool.sqlperf.") or (full == "tool" and "sqlperf" in value):
            return True
    return False


def _read_toml(path: Path) -> dict:
    import tomllib

    try:
        return tomllib.loads(path.read_text(encoding="utf-8"))
    except tomllib.TOMLDecodeError as error:
        raise ConfigError(f"{path}: invalid TOML: {error}") from None
    except (OSError, UnicodeDecodeError) as error:
        raise ConfigError(f"{path}: cannot read configuration: {error}") from None


def load_settings(config: Path | None = None, start: Path | None = None) -> Settings:
    path = config if config is not None else find_config(start or Path.cwd())
    if path is None:
        return Settings()
    if not path.is_file():
        raise ConfigError(f"{path}: configuration file not found")
    data = _read_toml(path)
    if path.name == "pyproject.toml":
        data = data.get("tool", {}).get("sqlperf", {})
        where = f"{path} [tool.sqlperf]"
    else:
        where = str(path)
    return settings_from_dict(data, where, path)


def settings_from_dict(data: dict, where: str = "<config>", path: Path | None = None) -> Settings:
    settings = Settings(config_path=path, root=path.parent.resolve() if path else Path.cwd())
    for key, value in data.items():
        attr = _KEYS.get(key) or _KEYS.get(key.replace("_", "-"))
        if attr is None:
            known = ", ".join(sorted(_KEYS))
            raise ConfigError(f"{where}: unknown key '{key}' (known keys: {known})")
        setattr(settings, attr, _check_type(where, key, attr, value))
    return settings


def _check_type(where: str, key: str, attr: str, value: Any) -> Any:
    lists = {"select", "extend_select", "ignore", "include", "exclude", "schema"}
    dicts = {"per_file_ignores", "rules", *_SECTIONS}
    if attr in lists:
        if isinstance(value, str):
            value = [v.strip() for v in value.split(",") if v.strip()]
        if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
            raise ConfigError(f"{where}: '{key}' must be a list of strings")
    elif attr in dicts:
        if not isinstance(value, dict):
            raise ConfigError(f"{where}: '{key}' must be a table")
    elif attr == "jobs":
        if not isinstance(value, int) or value < 1:
            raise ConfigError(f"{where}: 'jobs' must be a positive integer")
    elif attr == "cache_dir":
        if value is not False and not isinstance(value, str):
            raise ConfigError(f"{where}: 'cache-dir' must be a path or false")
        value = value or None
    elif not isinstance(value, str):
        raise ConfigError(f"{where}: '{key}' must be a string")
    return value


# -- rule selection ---------------------------------------------------------------------------
def _expand(registry: Registry, selectors: list[str], where: str) -> set[str]:
    codes: set[str] = set()
    for raw in selectors:
        sel = raw.strip()
        if not sel:
            continue
        if sel.upper() == "ALL":
            codes.update(registry.rules)
            continue
        rule = registry.lookup(sel)
        if rule is not None:
            codes.add(rule.code)
            continue
        prefixed = {code for code in registry.rules if code.startswith(sel.upper())}
        if not prefixed:
            raise ConfigError(f"{where}: unknown rule code or name '{sel}' (see `sqlperf rule --all`)")
        codes.update(prefixed)
    return codes


def selected_codes(registry: Registry, settings: Settings) -> set[str]:
    if settings.select is None:
        codes = {code for code, rule in registry.rules.items() if rule.default_enabled}
    else:
        codes = _expand(registry, settings.select, "select")
    codes |= _expand(registry, settings.extend_select, "extend-select")
    codes -= _expand(registry, settings.ignore, "ignore")
    return codes


def ignored_for_file(registry: Registry, settings: Settings, display_path: str) -> set[str]:
    ignored: set[str] = set()
    for pattern, selectors in settings.per_file_ignores.items():
        if fnmatch.fnmatch(display_path, pattern) or fnmatch.fnmatch(Path(display_path).name, pattern):
            ignored |= _expand(registry, list(selectors), f"per-file-ignores '{pattern}'")
    return ignored


def rule_options(registry: Registry, settings: Settings, code: str) -> dict[str, Any]:
    rule = registry.rules[code]
    merged = dict(rule.options)
    for key, opts in settings.rules.items():
        if registry.lookup(key) is rule:
            for name, value in opts.items():
                if name not in rule.options:
                    known = ", ".join(sorted(rule.options)) or "none"
                    raise ConfigError(f"rules.{key}: unknown option '{name}' for {rule.code} (options: {known})")
                merged[name] = value
    return merged


def validate(registry: Registry, settings: Settings) -> None:
    """Fail early, with one message, on unknown codes anywhere in the settings."""
    selected_codes(registry, settings)
    for pattern, selectors in settings.per_file_ignores.items():
        _expand(registry, list(selectors), f"per-file-ignores '{pattern}'")
    for key in settings.rules:
        if registry.lookup(key) is None:
            raise ConfigError(f"rules: unknown rule code or name '{key}'")
        rule_options(registry, settings, registry.lookup(key).code)
