"""Spans are exact: fixes and code frames depend on them."""

from __future__ import annotations

import pytest
import sqlglot
from sqlglot import exp

from sqlperf.engine import get_dialect
from sqlperf.source import SourceFile, split_statements, tokenize
from sqlperf.spans import SpanIndex


def spans_of(sql: str, node_type, dialect: str = "postgres") -> list[str]:
    d = get_dialect(dialect)
    source = SourceFile(sql)
    tokens, _ = tokenize(sql, d)
    [statement] = split_statements(source, tokens)
    tree = d.parser().parse(statement.tokens, sql)[0]
    index = SpanIndex(statement.tokens, sql)
    return [sql[slice(*index.span(n))] for n in tree.find_all(node_type)]


@pytest.mark.parametrize(
    ("sql", "node_type", "expected"),
    [
        ("SELECT 1 FROM t WHERE lower(email) = 'x'", exp.EQ, "lower(email) = 'x'"),
        ("SELECT 1 FROM t WHERE lower( email ) = 'x'", exp.Lower, "lower( email )"),
        ("SELECT 1 FROM t WHERE CAST(a AS INT) = 5", exp.Cast, "CAST(a AS INT)"),
        ("SELECT 1 FROM t WHERE a::timestamp(3) > now()", exp.Cast, "a::timestamp(3)"),
        ("SELECT 1 FROM t WHERE a::date::text = 'x'", exp.EQ, "a::date::text = 'x'"),
        ("SELECT 1 FROM t WHERE EXTRACT(YEAR FROM o.ts) = 2024", exp.EQ, "EXTRACT(YEAR FROM o.ts) = 2024"),
        ("SELECT 1 FROM t WHERE NOT EXTRACT(YEAR FROM ts) = 2024", exp.Extract, "EXTRACT(YEAR FROM ts)"),
        ("SELECT 1 FROM t WHERE x IS NOT NULL AND y = 2", exp.Is, "x IS NOT NULL"),
        ("SELECT 1 FROM t WHERE x IS NULL", exp.Is, "x IS NULL"),
        ("SELECT 1 FROM t WHERE d = CURRENT_DATE", exp.EQ, "d = CURRENT_DATE"),
        ("SELECT 1 FROM t WHERE ts + INTERVAL '1 day' > now()", exp.GT, "ts + INTERVAL '1 day' > now()"),
        ("SELECT 1 FROM t WHERE (a = 1 OR b = 2)", exp.Paren, "(a = 1 OR b = 2)"),
        ("SELECT 1 FROM t WHERE a IN (SELECT b FROM u)", exp.In, "a IN (SELECT b FROM u)"),
        ("SELECT 1 FROM t WHERE NOT EXISTS (SELECT 1 FROM u WHERE u.a = t.a)", exp.Not, "NOT EXISTS (SELECT 1 FROM u WHERE u.a = t.a)"),
        ("SELECT count(*) FROM t", exp.Count, "count(*)"),
        ("SELECT 1 FROM t ORDER BY a DESC", exp.Ordered, "a DESC"),
        ("SELECT CASE WHEN a THEN 1 ELSE 2 END FROM t", exp.Case, "CASE WHEN a THEN 1 ELSE 2 END"),
    ],
)
def test_node_spans(sql, node_type, expected):
    assert expected in spans_of(sql, node_type)


def test_mysql_year_wrapper_span():
    assert spans_of("SELECT 1 FROM t WHERE YEAR(created_at) = 2024", exp.EQ, "mysql") == ["YEAR(created_at) = 2024"]


def test_offsets_are_file_relative_and_positions_one_based():
    text = "-- first line\nSELECT 1;\n\n  SELECT lower(x) FROM t;\n"
    source = SourceFile(text)
    tokens, _ = tokenize(text, get_dialect("postgres"))
    statements = split_statements(source, tokens)
    assert [s.text for s in statements] == ["SELECT 1", "SELECT lower(x) FROM t"]
    assert source.position(statements[1].start) == (4, 3)
    assert source.line_text(4) == "  SELECT lower(x) FROM t;"


@pytest.mark.parametrize(
    ("sql", "node_type", "expected"),
    [
        ("SELECT 1 FROM t WHERE :p IS NULL OR c = :p", exp.Or, ":p IS NULL OR c = :p"),
        ("SELECT 1 FROM t WHERE $1 = c", exp.EQ, "$1 = c"),
        ("SELECT 1 FROM t WHERE ? = c", exp.EQ, "? = c"),
        ("SELECT 1 FROM t WHERE %s IS NULL OR c = %s", exp.Or, "%s IS NULL OR c = %s"),
        ("SELECT 1 FROM t WHERE %(p)s = c", exp.EQ, "%(p)s = c"),
        ("SELECT 1 FROM t WHERE 'x' = payload->>'k'", exp.EQ, "'x' = payload->>'k'"),
        ("SELECT 1 FROM t WHERE ts - interval '2' hour >= now()", exp.Sub, "ts - interval '2' hour"),
        ("SELECT 1 FROM t WHERE NULL IS NULL AND x IS TRUE", exp.Is, "x IS TRUE"),
        ("SELECT 1 FROM t WHERE CURRENT_DATE = d", exp.EQ, "CURRENT_DATE = d"),
        # SQLAlchemy's .first() on SQLite: LIMIT ? OFFSET ? after the WHERE's own placeholders
        # (the LIMIT's took the WHERE's first one, and SP108's help quoted "... LIMIT ?").
        ("SELECT a FROM t WHERE a = ? OR b = ? ORDER BY c DESC LIMIT ? OFFSET ?", exp.Or, "a = ? OR b = ?"),
    ],
)
def test_leaves_without_positions_are_aligned(sql, node_type, expected):
    assert expected in spans_of(sql, node_type)
