"""SQLite backend: EXPLAIN QUERY PLAN, SCAN versus SEARCH USING INDEX."""

import sqlite3

from sqlperf.rule import Applicability, Finding, Fix
from sqlperf.verify import verify_findings
from sqlperf.verify.plan import Plan
from sqlperf.verify.sqlite import SqliteBackend

DDL = """
CREATE TABLE users (id INTEGER PRIMARY KEY, email TEXT NOT NULL, city TEXT);
CREATE TABLE posts (id INTEGER PRIMARY KEY, user_id INTEGER NOT NULL REFERENCES users(id), title TEXT);
"""


def test_plan_from_sqlite_rows():
    plan = Plan.from_sqlite([(2, 0, 0, "SCAN users"), (5, 0, 0, "SEARCH posts USING INDEX posts_user (user_id=?)")])
    scan, search = plan.root.children
    assert scan.is_seq_scan and scan.relation == "users"
    assert search.index_name == "posts_user" and search.index_cond == "user_id=?"


def test_in_memory_backend_fills_rows_and_plans():
    backend = SqliteBackend.from_ddl(DDL, rows=500)
    assert backend.table_rows("users") == 500
    plan = backend.explain("SELECT * FROM posts WHERE user_id = $1")
    assert plan.scans("posts")[0].is_seq_scan
    with_index, name = backend.explain_with_index("SELECT * FROM posts WHERE user_id = ?", "CREATE INDEX posts_user ON posts (user_id)")
    assert with_index.scans("posts")[0].index_name.startswith(name)
    # the what-if index was rolled back
    assert backend.conn.execute("SELECT count(*) FROM sqlite_master WHERE type = 'index' AND name LIKE 'sqlperf%'").fetchone()[0] == 0


def test_index_finding_confirmed_on_a_sqlite_file(tmp_path):
    path = tmp_path / "app.db"
    conn = sqlite3.connect(path)
    conn.executescript(DDL)
    conn.executemany("INSERT INTO users (email, city) VALUES (?, ?)", [(f"u{i}@x", f"c{i % 50}") for i in range(2000)])
    conn.commit()
    conn.close()
    finding = Finding("SP201", "unindexed-filter-column", "x", statement_sql="SELECT id FROM users WHERE email = 'u5@x'",
                      fix=Fix(Applicability.DISPLAY, replacement="CREATE INDEX CONCURRENTLY users_email_idx ON users (email)"))
    verify_findings([finding], dsn=f"sqlite:///{path}", allow_index_build=True)
    assert finding.verification.status == "confirmed", finding.verification.reason
    assert finding.verification.cost_before is None  # SQLite has no costs; none are invented
    conn = sqlite3.connect(path)
    assert conn.execute("SELECT count(*) FROM sqlite_master WHERE type = 'index'").fetchone()[0] == 0


def test_sqlite_file_is_read_only_without_the_build_flag(tmp_path):
    path = tmp_path / "ro.db"
    conn = sqlite3.connect(path)
    conn.executescript(DDL)
    conn.close()
    finding = Finding("SP201", "unindexed-filter-column", "x", statement_sql="SELECT id FROM users WHERE email = 'a'",
                      fix=Fix(Applicability.DISPLAY, replacement="CREATE INDEX users_email_idx ON users (email)"))
    verify_findings([finding], dsn=f"sqlite:///{path}")
    assert finding.verification.status == "skipped" and "--allow-index-build" in finding.verification.reason


def test_sqlite_dialect_verifies_on_an_in_memory_database_from_the_ddl(tmp_path):
    from sqlperf.engine import lint_sql

    ddl = tmp_path / "schema.sql"
    ddl.write_text(DDL + "CREATE INDEX posts_user_idx ON posts (user_id);\n")
    findings = [f for f in lint_sql("SELECT id FROM users WHERE lower(email) = 'a'", dialect="sqlite") if f.code == "SP101"]
    assert findings
    verify_findings(findings, dialect="sqlite", ddl_paths=[str(ddl)], options={"rows": 2000})
    v = findings[0].verification
    assert v.status == "confirmed", v.reason
    assert v.plan_before["backend"] == "sqlite" and v.cost_before is None
