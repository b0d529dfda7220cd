"""The static rules applied to captured SQL, with the schema of the mapped classes.

Each distinct statement text is linted once per process (the result is cached by text,
dialect and schema), and its findings are moved to the line of the application that
ran the statement: that is the line a person has to change.
"""

from __future__ import annotations

from collections import OrderedDict
from dataclasses import replace
from pathlib import Path

from sqlperf.capture.callsite import display_path
from sqlperf.capture.recorder import CapturedStatement
from sqlperf.rule import Applicability, Finding, Fix

# SQLAlchemy dialect name -> sqlglot dialect name.
_DIALECTS = {"postgresql": "postgres", "sqlite": "sqlite", "mysql": "mysql", "mariadb": "mysql", "mssql": "tsql", "oracle": "oracle"}
_CACHE_SIZE = 2048
_lint_cache: OrderedDict[tuple, list[Finding]] = OrderedDict()
_schema_cache: dict[tuple, tuple[list, object]] = {}


def sqlglot_dialect(sqlalchemy_name: str) -> str:
    return _DIALECTS.get(sqlalchemy_name, sqlalchemy_name)


# id(Compiled) -> (the Compiled, the MetaData objects of its tables). SQLAlchemy caches its
# Compiled objects, so the same one comes back in every test: its tables are found once.
_metadata_cache: dict[int, tuple[object, tuple]] = {}


def metadata_of(statements: list[CapturedStatement]) -> list:
    """The distinct ``MetaData`` objects behind the tables the statements touched."""
    try:
        from sqlalchemy.sql.util import find_tables
    except ImportError:
        return []
    found: dict[int, object] = {}
    seen: set[int] = set()
    for statement in statements:
        compiled = statement.compiled
        if compiled is None or id(compiled) in seen:
            continue
        seen.add(id(compiled))
        cached = _metadata_cache.get(id(compiled))
        if cached is not None and cached[0] is compiled:
            metadatas = cached[1]
        else:
            metadatas = _metadata_of(compiled, find_tables)
            if len(_metadata_cache) > 4096:
                _metadata_cache.clear()
            _metadata_cache[id(compiled)] = (compiled, metadatas)
        for metadata in metadatas:
            found.setdefault(id(metadata), metadata)
    return list(found.values())


def _metadata_of(compiled, find_tables) -> tuple:
    element = getattr(compiled, "statement", None)
    if element is None:
        return ()
    try:
        tables = find_tables(element, include_crud=True, include_joins=True, include_selects=True)
    except Exception:  # an exotic construct must never break the capture
        return ()
    metadatas: dict[int, object] = {}
    for table in tables:
        metadata = getattr(table, "metadata", None)
        if metadata is not None:
            metadatas.setdefault(id(metadata), metadata)
    return tuple(metadatas.values())


def schema_for(metadatas: list):
    """One schema made of every MetaData (built once per set of MetaData and their tables)."""
    if not metadatas:
        return None
    key = tuple(sorted((id(m), len(m.tables)) for m in metadatas))
    cached = _schema_cache.get(key)
    if cached is not None:
        return cached[1]
    from sqlperf.schema import load_schema
    from sqlperf.schema.model import Schema

    schema = Schema()
    for metadata in metadatas:
        try:
            loaded = load_schema(metadata=metadata)
        except Exception as error:  # a model that cannot be compiled: lint without it
            schema.notes.append(f"schema from SQLAlchemy models skipped: {error}")
            continue
        for table in loaded.unique_tables():
            schema.add_table(table)
        schema.notes.extend(loaded.notes)
    # The MetaData objects are kept with the schema so their ids cannot be reused.
    _schema_cache[key] = (metadatas, schema)
    return schema


def _lint(text: str, dialect: str, schema, select) -> list[Finding]:
    key = (text, dialect, id(schema), tuple(select) if select is not None else None)
    found = _lint_cache.get(key)
    if found is not None:
        _lint_cache.move_to_end(key)
        return found
    from sqlperf.engine import lint_sql

    try:
        found = lint_sql(text, dialect=dialect, schema=schema, select=select)
    except Exception:  # the static rules are a bonus here: a crash must not fail the test
        found = []
    # A statement that does not parse is SQLAlchemy's business, not the application's.
    found = [f for f in found if f.code != "SP000"]
    _lint_cache[key] = found
    if len(_lint_cache) > _CACHE_SIZE:
        _lint_cache.popitem(last=False)
    return found


def static_findings(
    statements: list[CapturedStatement],
    *,
    schema=None,
    select: list[str] | None = None,
    root: str | Path | None = None,
) -> list[Finding]:
    """Findings of the static rules on each distinct statement, located at its call site.

    ``schema`` defaults to the SQLAlchemy MetaData of the tables the statements touched.
    """
    # One look per statement: the first of each text, and the few that repeat a text with
    # another Compiled object (whose tables may belong to another MetaData) or dialect.
    first_of: dict[str, CapturedStatement] = {}
    others: list[CapturedStatement] = []
    mixed = False
    for statement in statements:
        if statement.allowed is not None:
            continue
        first = first_of.get(statement.text)
        if first is None:
            first_of[statement.text] = statement
        elif first.compiled is not statement.compiled or first.dialect != statement.dialect:
            others.append(statement)
            mixed = mixed or first.dialect != statement.dialect
    if not first_of:
        return []
    if schema is None:
        schema = schema_for(metadata_of([*first_of.values(), *others]))
    distinct: dict[tuple[str, str], CapturedStatement] = {}
    if mixed:  # one text in two dialects: each is linted in its own
        for statement in statements:
            if statement.allowed is None:
                distinct.setdefault((statement.text, statement.dialect), statement)
    else:
        for statement in first_of.values():
            distinct[(statement.text, statement.dialect)] = statement
    findings: list[Finding] = []
    for (text, dialect), statement in distinct.items():
        for found in _lint(text, sqlglot_dialect(dialect), schema, select):
            located = statement
            if found.code == "SP307" and found.data.get("single_row_fetch_allowed"):
                # The rule saw `LIMIT ?`; the executions say what it stood for.
                located = _page_not_one_row([s for s in statements if s.text == text and s.allowed is None])
                if located is None:
                    continue
            findings.append(_relocate(found, located, root))
    return findings


def _page_not_one_row(executions: list[CapturedStatement]) -> CapturedStatement | None:
    """The first execution that did not ask for the first row alone (``.first()`` binds LIMIT 1)."""
    for execution in executions:
        if _bound(execution, "_limit_clause") != 1 or _bound(execution, "_offset_clause") not in (0, None):
            return execution
    return None


_UNKNOWN = object()


def _bound(statement: CapturedStatement, clause_name: str):
    """The value this execution bound to the statement's LIMIT or OFFSET parameter: None when
    the statement has no such clause, ``_UNKNOWN`` when it cannot be told."""
    compiled = statement.compiled
    clause = getattr(getattr(compiled, "statement", None), clause_name, None)
    if clause is None:
        return None
    try:
        name = compiled.bind_names.get(clause)
        parameters = statement.parameters
        if isinstance(parameters, dict):
            return parameters.get(name, _UNKNOWN)
        positions = compiled.positiontup or []
        return parameters[positions.index(name)] if name in positions else _UNKNOWN
    except Exception:  # a construct or driver this does not know: no claim about the value
        return _UNKNOWN


def _relocate(found: Finding, statement: CapturedStatement, root) -> Finding:
    site = statement.call_site
    path = display_path(site.path, root) if site else "<captured>"
    line = site.line if site else 1
    fix = found.fix
    if fix is not None:
        # The edits point into the SQL text, which is not a file anyone can edit here.
        fix = Fix(Applicability.DISPLAY, replacement=fix.replacement, message=fix.message)
    data = dict(found.data)
    data.update(
        {
            "call_site": site.display(root) if site else None,
            "function": site.function if site else None,
            "sql": statement.text,
            "sql_line": found.line,
            "sql_column": found.column,
            "fingerprint": statement.shape.digest,
        }
    )
    return replace(
        found,
        path=path,
        line=line,
        column=1,
        end_line=line,
        end_column=1,
        start=0,
        end=0,
        fix=fix,
        statement_sql=statement.text,
        data=data,
    )
