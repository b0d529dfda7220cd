"""Rule packs: the built-in one and third-party ones, all through the ``sqlperf.rules`` entry points.

An entry point names a module, a package of rule modules, a list of Rule classes, or a
callable returning one. A pack that fails to load is reported and skipped, never fatal.
"""

from __future__ import annotations

import importlib
import inspect
import pkgutil
from dataclasses import dataclass, field
from functools import lru_cache

from sqlperf.entrypoints import BUILTIN_PACK, ENTRY_POINT_GROUP, entry_points
from sqlperf.rule import Rule


@dataclass
class Registry:
    rules: dict[str, type[Rule]] = field(default_factory=dict)  # by code
    by_name: dict[str, type[Rule]] = field(default_factory=dict)  # by name and alias
    errors: list[str] = field(default_factory=list)

    def add(self, rule: type[Rule], pack: str) -> None:
        if not rule.code or not rule.name:
            self.errors.append(f"rule pack '{pack}': {rule.__qualname__} has no code or name (skipped)")
            return
        if rule.code in self.rules and self.rules[rule.code] is not rule:
            self.errors.append(f"rule pack '{pack}': code {rule.code} is already taken by {self.rules[rule.code].name} (skipped)")
            return
        self.rules[rule.code] = rule
        for name in (rule.name, *rule.aliases):
            self.by_name[name] = rule

    def lookup(self, code_or_name: str) -> type[Rule] | None:
        return self.rules.get(code_or_name.upper()) or self.by_name.get(code_or_name.lower())

    def sorted(self) -> list[type[Rule]]:
        return [self.rules[c] for c in sorted(self.rules)]


def _rules_in_module(module) -> list[type[Rule]]:
    return [
        obj
        for obj in vars(module).values()
        if inspect.isclass(obj) and issubclass(obj, Rule) and obj is not Rule and obj.__module__ == module.__name__ and obj.code
    ]


def rules_from(target, errors: list[str] | None = None) -> list[type[Rule]]:
    """Rule classes from whatever an entry point loaded.

    In a package of rule modules, a module that fails to import is reported in ``errors``
    and skipped; its siblings still load.
    """
    if inspect.ismodule(target):
        if hasattr(target, "RULES"):
            return list(target.RULES)
        found = _rules_in_module(target)
        if hasattr(target, "__path__"):
            for info in sorted(pkgutil.iter_modules(target.__path__), key=lambda i: i.name):
                if info.name.startswith("_"):
                    continue
                name = f"{target.__name__}.{info.name}"
                try:
                    module = importlib.import_module(name)
                except Exception as error:  # one broken rule module must not take the pack down
                    if errors is None:
                        raise
                    errors.append(f"rule module '{name}' failed to load and was skipped: {type(error).__name__}: {error}")
                    continue
                found.extend(_rules_in_module(module))
        return found
    if inspect.isclass(target) and issubclass(target, Rule):
        return [target]
    if callable(target):
        target = target()
    return list(target)


@lru_cache(maxsize=1)
def load_registry() -> Registry:
    registry = Registry()
    points = entry_points(ENTRY_POINT_GROUP)
    # Running from a source tree without installed metadata still gets the built-in rules.
    if not any(ep.value == BUILTIN_PACK for ep in points):
        _load_pack(registry, "builtin", lambda: importlib.import_module(BUILTIN_PACK))
    for ep in sorted(points, key=lambda e: (e.value != BUILTIN_PACK, e.name)):
        _load_pack(registry, ep.name, ep.load)
    return registry


def _load_pack(registry: Registry, name: str, load) -> None:
    try:
        rules = rules_from(load(), registry.errors)
    except Exception as error:  # a broken third-party pack must not stop the linter
        registry.errors.append(f"rule pack '{name}' failed to load and was skipped: {type(error).__name__}: {error}")
        return
    for rule in rules:
        registry.add(rule, name)
