"""``sqlperf report`` against a real PostgreSQL: the demo shop loaded, its workload run, then each section judged.

One database and one report for the module (building them is the slow part); every test
asserts on what the report found in it.
"""

from __future__ import annotations

import psycopg
import pytest

from sqlperf.dbreport import Thresholds, build_report
from sqlperf.dbreport.demo import load_demo, run_workload

pytestmark = pytest.mark.postgres

SCALE = 0.3
EXTRA = """
-- an index covering a foreign key, never scanned: needed for deletes on the parent, never "unused"
CREATE TABLE suppliers (id int PRIMARY KEY, name text NOT NULL);
CREATE TABLE supplies (id int PRIMARY KEY, supplier_id int NOT NULL REFERENCES suppliers (id), note text);
CREATE INDEX supplies_supplier_id_idx ON supplies (supplier_id);
-- a unique index (not a constraint) and an exclusion-free plain copy of it: the copy is the duplicate
CREATE UNIQUE INDEX suppliers_name_key ON suppliers (name);
CREATE INDEX suppliers_name_idx ON suppliers (name);
-- a unique index that is a prefix of a wider one: enforces uniqueness, never "redundant"
CREATE TABLE codes (a int NOT NULL, b int NOT NULL, c int);
CREATE UNIQUE INDEX codes_a_key ON codes (a);
CREATE INDEX codes_a_b_idx ON codes (a, b);
-- a partial index is no prefix of a full one
CREATE INDEX codes_a_partial_idx ON codes (a) WHERE c IS NOT NULL;
-- a prefix in a different order direction does not serve the same scans
CREATE INDEX codes_b_desc_idx ON codes (b DESC);
CREATE INDEX codes_b_c_idx ON codes (b, c);
INSERT INTO codes SELECT g, g, g FROM generate_series(1, 10) g;
INSERT INTO suppliers VALUES (1, 'one'), (2, 'one-bis');
-- a partitioned table's index has no scans of its own: they are counted on the partitions
CREATE TABLE events (id int NOT NULL, at date NOT NULL, kind text) PARTITION BY RANGE (at);
CREATE TABLE events_2025 PARTITION OF events FOR VALUES FROM ('2025-01-01') TO ('2026-01-01');
CREATE INDEX events_kind_idx ON events (kind);
CREATE INDEX events_kind_at_idx ON events (kind, at);
CREATE TABLE dupes (v int);
INSERT INTO dupes VALUES (1), (1);
"""


@pytest.fixture(scope="module")
def shop(pg_server):
    dsn = pg_server.create_database("report_sections")
    load_demo(dsn, SCALE)
    with psycopg.connect(dsn, autocommit=True) as conn:
        conn.execute(EXTRA)
        try:  # fails on the duplicate values and leaves an invalid index behind, as in production
            conn.execute("CREATE UNIQUE INDEX CONCURRENTLY dupes_v_key ON dupes (v)")
        except psycopg.errors.UniqueViolation:
            pass
        conn.execute("ANALYZE")
    calls = run_workload(dsn, SCALE)
    return dsn, calls


@pytest.fixture(scope="module")
def report(shop):
    dsn, _ = shop
    return build_report(dsn, Thresholds(seq_scan_min_rows=1000), whatif="build")


def _stat(report, fragment):
    found = [q for q in report.queries if fragment in q.query]
    assert found, f"no top query contains {fragment!r}: {[q.query for q in report.queries]}"
    return found[0]


# -- section 1: top queries ---------------------------------------------------------------------

def test_top_queries_are_ranked_by_total_time_and_really_the_slowest(report, shop):
    dsn, calls = shop
    totals = [q.total_ms for q in report.queries]
    assert totals == sorted(totals, reverse=True)
    with psycopg.connect(dsn) as conn:
        slowest = conn.execute(
            "SELECT query FROM pg_stat_statements WHERE dbid = (SELECT oid FROM pg_database WHERE datname = current_database()) "
            "AND query ~* '^(select|update)' AND query NOT ILIKE '%pg\\_%' GROUP BY query ORDER BY sum(total_exec_time) DESC LIMIT 1"
        ).fetchone()[0]
    assert report.queries[0].query == slowest.strip()
    assert abs(sum(q.share for q in report.queries) - sum(q.total_ms for q in report.queries) / report.total_exec_ms) < 1e-9


def test_query_statistics_match_the_workload(report, shop):
    _, calls = shop
    page = _stat(report, "FROM products WHERE id = $1")
    assert page.calls == calls["product page"]
    assert page.rows_per_call == pytest.approx(1.0)
    assert page.hit_ratio is not None and 0.5 < page.hit_ratio <= 1.0
    assert page.mean_ms == pytest.approx(page.total_ms / page.calls)


def test_no_utility_or_catalog_statement_is_ranked(report):
    for stat in report.queries:
        lowered = stat.query.lower()
        assert not lowered.startswith(("create", "analyze", "set", "show", "begin", "explain", "alter", "insert"))
        assert "pg_stat_statements" not in lowered and "current_setting" not in lowered


def test_each_query_is_linted_against_the_live_catalog(report):
    login = _stat(report, "lower(email)")
    assert "SP101" in {f["code"] for f in login.findings}
    by_customer = _stat(report, "WHERE customer_id = $1 ORDER BY")
    assert "SP201" in {f["code"] for f in by_customer.findings}  # a schema rule: the catalog was used
    page = _stat(report, "FROM products WHERE id = $1")
    assert page.findings == [] and page.plan_warnings == []


def test_each_query_is_planned_as_a_generic_plan_with_the_plan_checks(report):
    login = _stat(report, "lower(email)")
    assert login.plan_error is None and login.plan_cost > 0
    assert "customers" in login.seq_scans
    by_customer = _stat(report, "WHERE customer_id = $1 ORDER BY")  # orders: above SP601's 10,000 rows
    assert {w["code"] for w in by_customer.plan_warnings} == {"SP601"}
    assert "Filter: (customer_id = $1)" in by_customer.plan_warnings[0]["message"]
    update = _stat(report, "UPDATE orders")
    assert update.plan_error is None  # planned (never executed) inside a read-only transaction


# -- section 2: index advice ----------------------------------------------------------------------

def test_one_composite_serves_both_customer_queries(report):
    on_orders = [a for a in report.advice if a.table.endswith("orders") and a.columns[0] == "customer_id"]
    assert len(on_orders) == 1, [a.ddl for a in report.advice]
    composite = on_orders[0]
    assert composite.columns == ["customer_id", "created_at"]
    assert composite.ddl.startswith("CREATE INDEX CONCURRENTLY ") and "(customer_id, created_at DESC)" in composite.ddl
    helped = {g.query for g in composite.gains}
    assert any("ORDER BY created_at" in q for q in helped) and any("count(*)" in q for q in helped)
    for gain in composite.gains:
        assert gain.cost_after < gain.cost_before / 2
        assert gain.saving_ms == pytest.approx(gain.total_ms * (1 - gain.cost_after / gain.cost_before))
    assert composite.status == "verified" and composite.method == "build"
    assert composite.writes_per_hour and composite.writes_per_hour > 0  # the workload updates orders


def test_the_non_sargable_predicate_gets_an_expression_index(report):
    expression = [a for a in report.advice if "lower(email)" in a.ddl.lower()]
    assert len(expression) == 1
    assert expression[0].gains[0].cost_after < expression[0].gains[0].cost_before


def test_advice_is_ordered_by_saving_and_never_repeats_an_existing_index(report):
    savings = [a.saving_ms for a in report.advice]
    assert savings == sorted(savings, reverse=True)
    assert not any(a.table.endswith("products") and a.columns == ["id"] for a in report.advice)


def test_advice_verified_by_a_real_build(report, shop):
    """What the report promises is what PostgreSQL does: with the index built, the plan uses it."""
    dsn, _ = shop
    best = report.advice[0]
    query = best.gains[0].query
    with psycopg.connect(dsn) as conn:
        conn.execute(best.ddl.replace(" CONCURRENTLY", ""))
        plan = conn.execute(f"EXPLAIN (FORMAT JSON, GENERIC_PLAN) {query}").fetchone()[0]
        conn.rollback()
    assert best.gains[0].cost_after == pytest.approx(plan[0]["Plan"]["Total Cost"], rel=0.01)


# -- section 3: catalog health --------------------------------------------------------------------

def _names(report, kind):
    return {item.index for item in report.health_of(kind)}


def test_unused_indexes_never_include_an_index_that_enforces_or_covers_a_foreign_key(report):
    unused = _names(report, "unused-index")
    assert "customers_name_idx" in unused
    needed = {"customers_pkey", "customers_email_key", "products_pkey", "products_sku_key", "orders_pkey",
              "order_items_pkey", "suppliers_pkey", "suppliers_name_key", "supplies_pkey", "supplies_supplier_id_idx",
              "codes_a_key"}
    assert not unused & needed
    assert not {name for name in unused if name and name.startswith("events")}  # partitioned: not judged here
    item = next(i for i in report.health_of("unused-index") if i.index == "customers_name_idx")
    assert item.size_bytes > 0 and item.detail["tentative"] is True  # statistics reset seconds ago
    assert item.fix == "DROP INDEX CONCURRENTLY customers_name_idx;"


def test_duplicate_indexes(report):
    duplicates = {i.index: i.detail["same_as"] for i in report.health_of("duplicate-index")}
    assert duplicates.get("suppliers_name_idx") == "suppliers_name_key"  # the unique one is kept
    assert len({"orders_status_idx", "orders_status_idx1"} & set(duplicates)) == 1
    assert "suppliers_name_key" not in duplicates


def test_prefix_redundant_indexes(report):
    redundant = {i.index: i.detail["covered_by"] for i in report.health_of("redundant-index")}
    assert redundant.get("products_category_idx") == "products_category_price_idx"
    for kept in ("codes_a_key", "codes_a_partial_idx", "codes_b_desc_idx", "customers_email_key", "events_kind_idx"):
        assert kept not in redundant


def test_foreign_keys_without_an_index(report):
    items = {(i.table, tuple(i.detail["columns"])): i for i in report.health_of("unindexed-foreign-key")}
    assert set(items) == {("orders", ("customer_id",)), ("order_items", ("product_id",))}
    assert items[("order_items", ("product_id",))].fix == (
        "CREATE INDEX CONCURRENTLY order_items_product_id_idx ON order_items (product_id);"
    )


def test_invalid_indexes(report):
    assert _names(report, "invalid-index") == {"dupes_v_key"}
    assert "dupes_v_key" not in _names(report, "unused-index")


def test_tables_read_mostly_by_sequential_scans(report):
    heavy = {i.table: i for i in report.health_of("seq-scan-heavy")}
    assert "customers" in heavy  # every login reads it whole
    assert heavy["customers"].detail["seq_scan"] >= 36
    assert "products" not in heavy  # read by primary key


def test_sections_all_ran(report):
    assert report.sections == {"queries": "ok", "advice": "ok", "health": "ok"}
    assert [n.message for n in report.notices if n.section != "health"] == []
