"""Renderers: one module per output format, each a ``render(result, stream, **options)``."""

from __future__ import annotations

import importlib

FORMATS = ("text", "json", "sarif", "github")


def render(fmt: str, result, stream, **options) -> None:
    module = importlib.import_module(f"sqlperf.output.{fmt}_format")
    module.render(result, stream, **options)
