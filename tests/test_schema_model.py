"""The model helpers other rules rely on: expression-index matching, column lists, lookups."""

from __future__ import annotations

import pytest

from sqlperf.engine import lint_sql
from sqlperf.schema import Index, Schema, Table
from sqlperf.schema.ddl import apply_sql
from sqlperf.schema.normalize import normalize_expression, normalize_type, type_family


@pytest.mark.parametrize(
    ("written", "same_as"),
    [
        ("lower(email)", "LOWER(Email)"),
        ("lower((email)::text)", "lower(email)"),  # how pg_get_indexdef prints it for a varchar
        ("lower(u.email)", "lower(email)"),  # a query's qualified column
        ("(status)::text = 'open'::text", "status = 'open'"),
        ("date_trunc('day', created_at)", "DATE_TRUNC('day', created_at)"),
    ],
)
def test_expressions_compare_after_normalisation(written, same_as):
    assert normalize_expression(written) == normalize_expression(same_as)


def test_different_expressions_stay_different():
    assert normalize_expression("lower(email)") != normalize_expression("upper(email)")
    assert normalize_expression("(a + b) * c") != normalize_expression("a + b * c")
    assert normalize_expression('lower("Email")') != normalize_expression("lower(email)")


def test_has_expression_index_only_for_the_leading_entry():
    table = Table("users")
    table.indexes.append(Index("users_lower_email_idx", "users", ["lower((email)::text)"], expressions=[True]))
    table.indexes.append(Index("users_org_upper_idx", "users", ["org_id", "upper(name)"], expressions=[False, True]))
    assert table.has_expression_index("LOWER(email)")
    assert not table.has_expression_index("upper(name)")


def test_column_names_keep_declaration_order_and_spelling():
    schema = apply_sql(Schema(), 'CREATE TABLE t (b int, "MixedCase" text, a int)')
    assert schema.table("t").column_names() == ["b", "MixedCase", "a"]


@pytest.mark.parametrize(
    ("text", "canonical", "family"),
    [
        ("character varying(255)", "varchar(255)", "text"),
        ("timestamp with time zone", "timestamptz", "temporal"),
        ("int8", "bigint", "integer"),
        ("numeric(10,2)", "numeric(10,2)", "numeric"),
        ("double precision", "double precision", "float"),
        ("mood", "mood", "other"),
        ("", "", "other"),
    ],
)
def test_types_normalise_and_group(text, canonical, family):
    assert normalize_type(text) == canonical
    assert type_family(canonical) == family


def test_sp101_is_silent_when_an_expression_index_matches():
    schema = apply_sql(Schema(), "CREATE TABLE users (id int PRIMARY KEY, email varchar(200));")
    query = "SELECT id FROM users u WHERE lower(u.email) = 'a@b.c'"
    assert [f.code for f in lint_sql(query, schema=schema, select=["SP101"])] == ["SP101"]
    schema.table("users").indexes.append(
        Index("users_lower_email_idx", "users", ["lower((email)::text)"], expressions=[True])
    )
    assert lint_sql(query, schema=Schema(tables=dict(schema.tables)), select=["SP101"]) == []


def test_find_index_and_drop_table():
    schema = apply_sql(Schema(), "CREATE TABLE s.a (x int); CREATE INDEX a_x_idx ON s.a (x); CREATE TABLE b (y int);")
    table, index = schema.find_index("a_x_idx")
    assert (table.qualified_name, index.columns) == ("s.a", ["x"])
    assert schema.find_index("a_x_idx", "other") is None
    schema.drop_table("s.a")
    assert schema.table("a") is None and [t.name for t in schema.unique_tables()] == ["b"]


@pytest.mark.parametrize(
    ("estimate", "options", "fires"),
    [
        (None, {}, True),  # never analysed: unknown, so judged
        (10.0, {}, False),  # a small table: a scan is the right plan
        (50_000.0, {}, True),
        (50.0, {"min_rows": 10}, True),  # the threshold is an option
    ],
)
def test_row_estimates_gate_the_index_rules(estimate, options, fires):
    from sqlperf.config import Settings
    from sqlperf.engine import Linter

    schema = apply_sql(Schema(), "CREATE TABLE orders (id bigint PRIMARY KEY, status text);")
    schema.table("orders").row_estimate = estimate
    settings = Settings(select=["SP201"], rules={"unindexed-filter-column": options} if options else {})
    found = Linter(settings, schema=schema).lint_text("SELECT id FROM orders WHERE status = 'x'").findings
    assert bool(found) is fires
