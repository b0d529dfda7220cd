"""Index suggestions: the column order, the names, and never an index that already exists."""

from __future__ import annotations

from sqlperf.schema import Schema
from sqlperf.schema.advice import covering_index, index_name, suggest_index
from sqlperf.schema.ddl import apply_sql

SCHEMA = apply_sql(
    Schema(),
    """
    CREATE TABLE orders (id bigint PRIMARY KEY, user_id bigint, status text, total numeric, created_at timestamptz,
                         "Region" text);
    CREATE INDEX orders_user_id_created_at_idx ON orders (user_id, created_at DESC);
    CREATE INDEX orders_open_idx ON orders (total) WHERE status = 'open';
    CREATE TABLE archive.events (id bigint, kind text);
    """,
)
ORDERS = SCHEMA.table("orders")


def test_equality_then_range_then_order():
    advice = suggest_index(ORDERS, equality=["status"], range=["total"], order=[("total", True)])
    assert advice.columns == ["status", "total"]
    advice = suggest_index(ORDERS, equality=["status", "user_id"], order=[("created_at", True), ("id", False)])
    assert advice.ddl == (
        "CREATE INDEX CONCURRENTLY orders_status_user_id_created_at_id_idx ON orders (status, user_id, created_at DESC, id);"
    )


def test_order_columns_after_an_unrelated_range_are_left_out():
    # After a range on total the index order cannot serve ORDER BY created_at.
    advice = suggest_index(ORDERS, equality=["status"], range=["total"], order=[("created_at", False)])
    assert advice.columns == ["status", "total"]


def test_no_suggestion_when_an_index_already_leads_with_the_columns():
    assert suggest_index(ORDERS, equality=["user_id"]) is None
    assert suggest_index(ORDERS, equality=["user_id"], range=["created_at"]) is None
    assert suggest_index(ORDERS, equality=["id"]) is None  # the primary key
    assert covering_index(ORDERS, ["user_id"], []).name == "orders_user_id_created_at_idx"


def test_a_partial_index_covers_only_queries_that_repeat_its_predicate():
    assert suggest_index(ORDERS, range=["total"]) is not None
    assert suggest_index(ORDERS, range=["total"], conjuncts={"status = 'open'"}) is None


def test_expression_suggestion_is_parenthesised():
    advice = suggest_index(ORDERS, expressions=["lower(status)"])
    assert advice.ddl == "CREATE INDEX CONCURRENTLY orders_lower_idx ON orders ((LOWER(status)));"


def test_names_are_unique_valid_and_quoted_where_needed():
    assert index_name(ORDERS, ["user_id", "created_at"]) == "orders_user_id_created_at_idx1"
    assert len(index_name(ORDERS, ["a_really_long_column_name"] * 5)) <= 63
    advice = suggest_index(ORDERS, equality=["Region"])
    assert advice.ddl == 'CREATE INDEX CONCURRENTLY orders_region_idx ON orders ("Region");'
    events = suggest_index(SCHEMA.table("events", "archive"), equality=["kind"])
    assert events.ddl == "CREATE INDEX CONCURRENTLY events_kind_idx ON archive.events (kind);"
    assert events.to_dict()["table"] == "archive.events"
