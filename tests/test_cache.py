"""The result cache: exact round trips, invalidation by content, settings, schema and version."""

from __future__ import annotations

import json
import os
import threading
from pathlib import Path

import pytest

from sqlperf import cache as cache_module
from sqlperf.cache import ResultCache, file_key, result_from_json, result_to_json
from sqlperf.config import Settings
from sqlperf.engine import FileResult
from sqlperf.rule import Applicability, Edit, Finding, Fix, Severity, Verification
from sqlperf.runner import check

QUERY = "SELECT * FROM orders WHERE lower(email) = 'a@b.c' AND created_at::date = '2024-01-01';\n"


def _tree(tmp_path: Path, files: dict[str, str]) -> Path:
    root = tmp_path / "sql"
    for name, text in files.items():
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
    return root


def _settings(cache_dir: Path, **extra) -> Settings:
    return Settings(select=["ALL"], cache_dir=str(cache_dir), **extra)


def _entries(cache_dir: Path) -> list[Path]:
    return sorted(cache_dir.rglob("*.json"))


def _spy_lint(monkeypatch) -> list[str]:
    """Names of the files the linter really linted (a cache hit never reaches it)."""
    from sqlperf.engine import Linter

    linted: list[str] = []
    original = Linter.lint_source

    def lint_source(self, source):
        linted.append(source.display_path)
        return original(self, source)

    monkeypatch.setattr(Linter, "lint_source", lint_source)
    return linted


def test_findings_with_fix_and_verification_round_trip_exactly():
    finding = Finding(
        code="SP102",
        name="date-function-on-column",
        message="m",
        path="q.sql",
        line=2,
        column=3,
        end_line=2,
        end_column=30,
        help="h",
        severity=Severity.ERROR,
        fix=Fix(Applicability.SAFE, [Edit(10, 20, "x >= '2024'"), Edit(30, 31, "")], "x >= '2024'", "half-open range"),
        verification=Verification("confirmed", "index cond", {"Plan": {"Node Type": "Seq Scan"}}, None, 12.5, 1.0, "Filter"),
        start=10,
        end=31,
        statement_index=1,
        statement_sql="SELECT 1",
        data={"table": "t", "columns": ("a", "b"), "nested": [("x", 1), {"k": None}]},
    )
    result = FileResult("q.sql", findings=[finding], statements=3, errors=[], skipped=False)
    back = result_from_json(json.loads(json.dumps(result_to_json(result))))
    assert back == result
    assert isinstance(back.findings[0].data["columns"], tuple)
    assert back.findings[0].fix.applicability is Applicability.SAFE
    assert back.findings[0].severity is Severity.ERROR


def test_data_that_json_cannot_carry_is_not_cached(tmp_path):
    cache = ResultCache(tmp_path, "c" * 64)
    result = FileResult("q.sql", findings=[Finding("SP101", "n", "m", data={"odd": {1, 2}})])
    assert cache.store("k" * 64, result) is False
    assert cache.load("k" * 64) is None


def test_warm_run_is_served_from_the_cache_and_equals_the_cold_run(tmp_path, monkeypatch):
    root = _tree(tmp_path, {"a.sql": QUERY, "b/c.sql": "SELECT 1;\nSELECT x FROM t ORDER BY random();\n"})
    settings = _settings(tmp_path / "cache")
    cold = check([root], settings, jobs=1)
    assert cold.findings
    assert len(_entries(tmp_path / "cache")) == 2
    linted = _spy_lint(monkeypatch)
    warm = check([root], settings, jobs=1)
    assert linted == []
    assert warm.files == cold.files


def test_changed_file_is_linted_again_and_others_are_not(tmp_path, monkeypatch):
    root = _tree(tmp_path, {"a.sql": QUERY, "b.sql": "SELECT 1;\n"})
    settings = _settings(tmp_path / "cache")
    check([root], settings, jobs=1)
    (root / "b.sql").write_text("SELECT * FROM t;\n", encoding="utf-8")
    linted = _spy_lint(monkeypatch)
    result = check([root], settings, jobs=1)
    assert [Path(p).name for p in linted] == ["b.sql"]
    assert any(f.code == "SP301" and f.path.endswith("b.sql") for f in result.findings)


@pytest.mark.parametrize(
    "change",
    [
        pytest.param(lambda s: setattr(s, "ignore", ["SP101"]), id="settings"),
        pytest.param(lambda s: setattr(s, "dialect", "mysql"), id="dialect"),
    ],
)
def test_other_settings_miss_the_cache(tmp_path, monkeypatch, change):
    root = _tree(tmp_path, {"a.sql": QUERY})
    settings = _settings(tmp_path / "cache")
    check([root], settings, jobs=1)
    other = _settings(tmp_path / "cache")
    change(other)
    linted = _spy_lint(monkeypatch)
    result = check([root], other, jobs=1)
    assert len(linted) == 1
    if other.ignore:
        assert not any(f.code == "SP101" for f in result.findings)


def test_another_schema_misses_the_cache(tmp_path, monkeypatch):
    from sqlperf.schema.model import Column, Schema, Table

    root = _tree(tmp_path, {"a.sql": QUERY})
    settings = _settings(tmp_path / "cache")

    def schema(column_type: str) -> Schema:
        found = Schema()
        table = Table("orders")
        table.add_column(Column("email", column_type))
        table.add_column(Column("created_at", "timestamp"))
        found.add_table(table)
        return found

    check([root], settings, schema=schema("text"), jobs=1)
    linted = _spy_lint(monkeypatch)
    check([root], settings, schema=schema("text"), jobs=1)
    assert linted == []
    check([root], settings, schema=schema("varchar(10)"), jobs=1)
    assert len(linted) == 1


def test_another_tool_version_never_sees_old_entries(tmp_path, monkeypatch):
    root = _tree(tmp_path, {"a.sql": QUERY})
    settings = _settings(tmp_path / "cache")
    check([root], settings, jobs=1)
    monkeypatch.setattr(cache_module, "__version__", "999.0.0")
    linted = _spy_lint(monkeypatch)
    check([root], settings, jobs=1)
    assert len(linted) == 1


def test_a_changed_rule_module_invalidates(tmp_path, monkeypatch):
    root = _tree(tmp_path, {"a.sql": QUERY})
    settings = _settings(tmp_path / "cache")
    check([root], settings, jobs=1)
    real = cache_module.rule_module_version
    monkeypatch.setattr(cache_module, "rule_module_version", lambda rule: real(rule) + ("-edited" if rule.code == "SP104" else ""))
    linted = _spy_lint(monkeypatch)
    check([root], settings, jobs=1)
    assert len(linted) == 1


def test_corrupt_or_foreign_entries_are_ignored_and_replaced(tmp_path):
    root = _tree(tmp_path, {"a.sql": QUERY, "b.sql": "SELECT * FROM t;\n"})
    settings = _settings(tmp_path / "cache")
    cold = check([root], settings, jobs=1)
    first, second = _entries(tmp_path / "cache")
    first.write_bytes(b'{"key": "trunc')
    entry = json.loads(second.read_text())
    entry["key"] = "0" * 64
    second.write_text(json.dumps(entry))
    again = check([root], settings, jobs=1)
    assert again.files == cold.files
    for path in (first, second):
        assert json.loads(path.read_text())["key"] == path.stem


def test_no_cache_and_a_moved_cache_dir(tmp_path, monkeypatch):
    root = _tree(tmp_path, {"a.sql": QUERY})
    monkeypatch.chdir(tmp_path)
    check([root], Settings(cache_dir=None), jobs=1)
    assert not (tmp_path / ".sqlperf_cache").exists()
    check([root], Settings(cache_dir=str(tmp_path / "elsewhere")), jobs=1)
    assert _entries(tmp_path / "elsewhere")
    assert (tmp_path / "elsewhere" / ".gitignore").is_file()


def test_cli_no_cache_and_cache_dir(tmp_path, monkeypatch):
    from click.testing import CliRunner

    from sqlperf.cli import cli

    root = _tree(tmp_path, {"a.sql": QUERY})
    monkeypatch.chdir(tmp_path)
    runner = CliRunner()
    assert runner.invoke(cli, ["check", "--no-cache", str(root)]).exit_code == 1
    assert not (tmp_path / ".sqlperf_cache").exists()
    assert runner.invoke(cli, ["check", "--cache-dir", "moved", str(root)]).exit_code == 1
    assert _entries(tmp_path / "moved")
    first = runner.invoke(cli, ["check", "--format", "json", str(root)])
    second = runner.invoke(cli, ["check", "--format", "json", str(root)])
    assert first.output == second.output


def test_same_content_under_two_paths_keeps_each_path(tmp_path):
    root = _tree(tmp_path, {"a.sql": QUERY, "b.sql": QUERY})
    settings = _settings(tmp_path / "cache")
    check([root], settings, jobs=1)
    warm = check([root], settings, jobs=1)
    assert [Path(f.path).name for f in warm.files[0].findings][:1] == ["a.sql"]
    assert {Path(f.path).name for f in warm.files[1].findings} == {"b.sql"}


def test_results_with_errors_are_not_cached(tmp_path):
    root = _tree(tmp_path, {})
    root.mkdir()
    (root / "latin1.sql").write_bytes(b"SELECT '\xe9';\n")
    (root / "bin.sql").write_bytes(b"\x00\x01binary")
    settings = _settings(tmp_path / "cache")
    result = check([root], settings, jobs=1)
    assert result.all_errors
    assert _entries(tmp_path / "cache") == []


def test_two_writers_share_one_cache_without_torn_entries(tmp_path):
    cache = ResultCache(tmp_path, "c" * 64)
    results = [
        FileResult("q.sql", findings=[Finding("SP101", "n", "x" * (10_000 + i), path="q.sql")], statements=i) for i in range(2)
    ]
    key = file_key(b"SELECT 1", "q.sql")
    seen: list[FileResult | None] = []

    def write(result):
        for _ in range(200):
            cache.store(key, result)

    def read():
        for _ in range(400):
            seen.append(cache.load(key))

    threads = [threading.Thread(target=write, args=(r,)) for r in results] + [threading.Thread(target=read)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert all(r is None or r in results for r in seen)
    assert cache.load(key) in results
    assert not [p for p in os.listdir(cache.folder) if p.endswith(".tmp")]
