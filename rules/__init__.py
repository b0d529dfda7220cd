"""The built-in rules: one module per rule, found by the registry like any third-party pack.

Installed as ``sqlperf.rules`` (the folder is mapped in pyproject.toml), never as a
top-level ``rules`` package.
"""
