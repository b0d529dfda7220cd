"""Entry points of the ``sqlperf.rules`` group, read without importing ``importlib.metadata``.

Kept apart from the registry so that a warm run (sqlperf.fastpath) can fingerprint the
installed rule packs without importing the rule base classes.
"""

from __future__ import annotations

import importlib

ENTRY_POINT_GROUP = "sqlperf.rules"
BUILTIN_PACK = "sqlperf.rules"


class EntryPoint:
    """One ``name = module:attr`` line of an ``entry_points.txt``."""

    __slots__ = ("name", "value")

    def __init__(self, name: str, value: str) -> None:
        self.name = name
        self.value = value

    def __repr__(self) -> str:
        return f"EntryPoint({self.name!r}, {self.value!r})"

    def __eq__(self, other: object) -> bool:
        return isinstance(other, EntryPoint) and (self.name, self.value) == (other.name, other.value)

    def __hash__(self) -> int:
        return hash((self.name, self.value))

    def load(self):
        module_name, _, attrs = self.value.partition(":")
        target = importlib.import_module(module_name.strip())
        for attr in filter(None, attrs.split("[")[0].strip().split(".")):
            target = getattr(target, attr)
        return target


def entry_points(group: str) -> list[EntryPoint]:
    """The group's entry points from the ``*.dist-info`` / ``*.egg-info`` folders on ``sys.path``.

    Importing ``importlib.metadata`` (email, zipfile, csv) costs more than the rest of the
    start-up of ``sqlperf --version``; the folders themselves are quick to read. Like
    importlib.metadata, the first distribution of a name on ``sys.path`` wins.
    """
    import os
    import sys

    found: list[EntryPoint] = []
    seen: set[str] = set()
    for folder in sys.path:
        try:
            entries = sorted(os.scandir(folder or "."), key=lambda e: e.name)
        except OSError:
            continue
        for entry in entries:
            if not entry.name.endswith((".dist-info", ".egg-info")):
                continue
            distribution = entry.name.rsplit("-", 1)[0] if entry.name.endswith(".dist-info") else entry.name[: -len(".egg-info")]
            distribution = distribution.split("-")[0].lower().replace("-", "_").replace(".", "_")
            if distribution in seen:
                continue
            seen.add(distribution)
            try:
                with open(os.path.join(entry.path, "entry_points.txt"), encoding="utf-8") as handle:
                    text = handle.read()
            except OSError:
                continue
            if f"[{group}]" in text:
                found.extend(_section(text, group))
    return found


def _section(text: str, group: str) -> list[EntryPoint]:
    points = []
    inside = False
    for raw in text.splitlines():
        line = raw.strip()
        if not line or line.startswith(("#", ";")):
            continue
        if line.startswith("[") and line.endswith("]"):
            inside = line[1:-1].strip() == group
        elif inside and "=" in line:
            name, value = line.split("=", 1)
            points.append(EntryPoint(name.strip(), value.strip()))
    return points
