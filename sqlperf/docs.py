"""A rule's documentation: its docstring, in the sections What it does / Why is this bad? / ..."""

from __future__ import annotations

import re

SECTIONS = ("What it does", "Why is this bad?", "Example", "Use instead", "Fix safety", "Options")
_HEADING = re.compile(r"^##\s+(.+?)\s*$", re.MULTILINE)
_SQL_BLOCK = re.compile(r"```sql\n(.*?)```", re.DOTALL)


def sections(doc: str) -> dict[str, str]:
    found: dict[str, str] = {}
    matches = list(_HEADING.finditer(doc))
    for i, match in enumerate(matches):
        end = matches[i + 1].start() if i + 1 < len(matches) else len(doc)
        found[match.group(1)] = doc[match.end() : end].strip()
    return found


def section(doc: str, name: str) -> str:
    return sections(doc).get(name, "")


def sql_examples(doc: str, name: str) -> list[str]:
    """The SQL code blocks of one section (``Example`` or ``Use instead``)."""
    return [block.strip() for block in _SQL_BLOCK.findall(section(doc, name))]


def render_rule(rule) -> str:
    """Plain-text documentation, as ``sqlperf rule CODE`` prints it."""
    head = f"# {rule.code} {rule.name}\n\n"
    facts = [f"Category: {rule.category or '-'}"]
    if rule.fix_applicability is not None:
        facts.append(f"Fix: {rule.fix_applicability.value}")
    if rule.needs_schema:
        facts.append("Needs a schema: yes (--schema, --schema-dsn or --schema-metadata)")
    if not rule.static:
        facts.append("Runs on: " + ("captured SQL (pytest plugin, sqlperf.capture)" if rule.code.startswith("SP5") else "verified plans (--verify)"))
    if not rule.default_enabled:
        facts.append("Enabled by default: no (select it, or --select ALL)")
    body = rule.doc()
    options = ""
    if rule.options and "Options" not in sections(body):
        options = "\n\n## Options\n" + "\n".join(f"- `{k}` (default: {v!r})" for k, v in rule.options.items())
    return head + "\n".join(facts) + "\n\n" + body + options + "\n"
