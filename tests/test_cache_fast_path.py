"""The fast path of a fully cached run: the same bytes out as the slow path, never a stale result."""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
from click.testing import CliRunner

from sqlperf import cache as cache_module
from sqlperf import fastpath
from sqlperf.cli import cli
from sqlperf.config import Settings

QUERIES = {
    "a.sql": "SELECT * FROM orders WHERE lower(email) = 'a@b.c';\nSELECT id FROM orders WHERE id IN (1, 2, 3, 4);\n",
    "sub/b.sql": "SELECT id FROM t WHERE name LIKE '%x' ORDER BY random() LIMIT 5;\nUPDATE orders SET total = 0;\n",
    "c.sql": "SELECT o.id FROM orders o WHERE o.customer_id = 7;\n",
}
DDL = "CREATE TABLE orders (id int PRIMARY KEY, email text, customer_id int, total int);\n"


@pytest.fixture
def tree(tmp_path, monkeypatch):
    for name, text in QUERIES.items():
        (tmp_path / name).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / name).write_text(text, encoding="utf-8")
    monkeypatch.chdir(tmp_path)
    return tmp_path


@pytest.fixture
def spy(monkeypatch):
    """Records, per CLI run, whether the fast path answered and how many files were linted."""
    from sqlperf.engine import Linter

    seen = {"fast": [], "linted": []}
    real_run, real_lint = fastpath.cached_run, Linter.lint_source

    def cached_run(*args, **kwargs):
        answer = real_run(*args, **kwargs)
        seen["fast"].append(answer is not None)
        return answer

    def lint_source(self, source):
        seen["linted"].append(source.display_path if hasattr(source, "display_path") else source)
        return real_lint(self, source)

    monkeypatch.setattr(fastpath, "cached_run", cached_run)
    monkeypatch.setattr(Linter, "lint_source", lint_source)
    return seen


def _run(*args: str):
    result = CliRunner().invoke(cli, ["check", *args], catch_exceptions=False)
    return result.exit_code, result.stdout


def _reference(*args: str):
    return _run("--no-cache", *args)


@pytest.mark.parametrize(
    "options",
    [
        pytest.param(["--format", "text"], id="text"),
        pytest.param(["--format", "text", "--verbose"], id="text-verbose"),
        pytest.param(["--format", "json"], id="json"),
        pytest.param(["--format", "sarif"], id="sarif"),
        pytest.param(["--format", "github"], id="github"),
        pytest.param(["--format", "json", "--select", "ALL", "--schema", "schema.ddl"], id="json-schema"),
        pytest.param(["--format", "text", "--exit-zero"], id="exit-zero"),
    ],
)
def test_warm_output_is_byte_for_byte_the_slow_paths(tree, spy, options):
    (tree / "schema.ddl").write_text(DDL, encoding="utf-8")
    reference = _reference(*options, ".")
    cold = _run(*options, ".")
    spy["fast"].clear()
    spy["linted"].clear()
    replayed = _run(*options, ".")  # the output the cold run stored
    _forget_outputs(tree)
    rendered = _run(*options, ".")  # rendered from the cached results, and stored again
    assert cold == reference
    assert replayed == reference
    assert rendered == reference
    assert _run(*options, ".") == reference
    assert spy["linted"] == []
    # SARIF describes each rule from its documentation: its output is replayed, never rendered.
    assert spy["fast"] == ([True, False, True] if "sarif" in options else [True, True, True])


def _forget_outputs(tree: Path) -> None:
    for stored in (tree / ".sqlperf_cache").rglob("out-*.json"):
        stored.unlink()


def test_a_damaged_stored_output_is_rendered_again(tree, spy):
    reference = _reference("--format", "json", ".")
    _run("--format", "json", ".")
    stored = list((tree / ".sqlperf_cache").rglob("out-*.json"))
    assert len(stored) == 1
    stored[0].write_text('{"key": "another", "findings": false}\nstale')
    assert _run("--format", "json", ".") == reference
    stored[0].write_text("{not json")
    assert _run("--format", "json", ".") == reference
    assert spy["fast"][-2:] == [True, True]


def test_output_to_a_file_is_the_same(tree):
    _reference("--format", "text", "-o", "reference.txt", ".")
    for name in ("cold.txt", "warm.txt", "replayed.txt"):
        assert _run("--format", "text", "-o", name, ".")[0] == 1
    reference = (tree / "reference.txt").read_bytes()
    assert reference and all((tree / name).read_bytes() == reference for name in ("cold.txt", "warm.txt", "replayed.txt"))


def test_a_fully_warm_run_imports_neither_sqlglot_nor_the_engine_nor_the_rules(tree):
    probe = textwrap.dedent(
        """
        import atexit, json, sys
        report = sys.argv[1]
        atexit.register(lambda: open(report, "w").write(json.dumps(sorted(sys.modules))))
        from sqlperf.cli import main
        main(["check", "--format", "json", "."])
        """
    )

    def run(report: Path):
        done = subprocess.run([sys.executable, "-c", probe, str(report)], capture_output=True, text=True, cwd=tree, timeout=120)
        return done, json.loads(report.read_text())

    cold, cold_modules = run(tree / "cold.json")
    warm, warm_modules = run(tree / "warm.json")
    assert cold.returncode == warm.returncode == 1, cold.stderr + warm.stderr
    assert warm.stdout == cold.stdout
    assert "sqlglot" in cold_modules  # the probe does see imports
    heavy = [m for m in warm_modules if m.split(".")[0] == "sqlglot" or m in ("sqlperf.engine", "sqlperf.source")
             or m.startswith("sqlperf.rules") or m.startswith("sqlperf.schema")]
    assert heavy == []


@pytest.mark.parametrize(
    "change",
    [
        pytest.param({"config": 'ignore = ["SP301"]\n'}, id="config-ignore"),
        pytest.param({"config": "[rules.large-in-list]\nthreshold = 3\n"}, id="config-rule-option"),
        pytest.param({"config": 'per-file-ignores = { "sub/*" = ["SP104"] }\n'}, id="config-per-file-ignores"),
        pytest.param({"args": ["--ignore", "SP101"]}, id="cli-ignore"),
        pytest.param({"args": ["--dialect", "mysql"]}, id="cli-dialect"),
        pytest.param({"args": ["--select", "ALL"]}, id="cli-select"),
    ],
)
def test_a_changed_setting_is_recomputed(tree, spy, change):
    (tree / "sqlperf.toml").write_text('select = ["SP1", "SP3", "SP4"]\n', encoding="utf-8")
    _run("--format", "json", ".")
    assert _run("--format", "json", ".")[1] and spy["fast"][-1] is True
    if "config" in change:
        with open(tree / "sqlperf.toml", "a", encoding="utf-8") as out:
            out.write(change["config"])
    args = [*change.get("args", []), "--format", "json", "."]
    spy["fast"].clear()
    changed = _run(*args)
    assert spy["fast"] == [False]
    assert changed == _reference(*args)
    # ...and the new configuration gets its own fast path, still right.
    assert _run(*args) == changed and spy["fast"] == [False, True]


def test_a_changed_file_is_recomputed(tree, spy):
    first = _run("--format", "json", ".")
    (tree / "c.sql").write_text("SELECT * FROM orders ORDER BY random();\n", encoding="utf-8")
    spy["fast"].clear()
    spy["linted"].clear()
    changed = _run("--format", "json", ".")
    assert spy["fast"] == [False] and len(spy["linted"]) == 1
    assert changed != first and changed == _reference("--format", "json", ".")


def test_an_added_file_is_linted(tree, spy):
    _run("--format", "json", ".")
    (tree / "d.sql").write_text("SELECT * FROM orders;\n", encoding="utf-8")
    spy["fast"].clear()
    assert _run("--format", "json", ".") == _reference("--format", "json", ".")
    assert spy["fast"] == [False]


def test_a_changed_tool_version_is_recomputed(tree, spy, monkeypatch):
    _run("--format", "json", ".")
    monkeypatch.setattr(cache_module, "__version__", "999.0.0")
    spy["fast"].clear()
    spy["linted"].clear()
    changed = _run("--format", "json", ".")
    assert spy["fast"] == [False] and len(spy["linted"]) == len(QUERIES)
    assert changed == _reference("--format", "json", ".")


def test_a_changed_ddl_file_is_recomputed(tree, spy):
    (tree / "ddl").mkdir()
    (tree / "ddl" / "001.sql").write_text(DDL, encoding="utf-8")
    (tree / "q").mkdir()
    (tree / "q" / "q.sql").write_text("SELECT id FROM orders WHERE customer_id = 7;\n", encoding="utf-8")
    args = ["--format", "json", "--select", "ALL", "--schema", "ddl", "q"]
    before = _run(*args)
    assert "SP201" in before[1]
    assert _run(*args) == before and spy["fast"][-1] is True
    # A new migration file in the schema folder adds the index the finding asked for.
    (tree / "ddl" / "002.sql").write_text("CREATE INDEX orders_customer_idx ON orders (customer_id);\n", encoding="utf-8")
    spy["fast"].clear()
    after = _run(*args)
    assert spy["fast"] == [False]
    assert after == _reference(*args) and "SP201" not in after[1]
    # The same for an edit of an existing file.
    (tree / "ddl" / "002.sql").write_text("-- dropped\n", encoding="utf-8")
    assert _run(*args) == _reference(*args) == before


def test_a_missing_path_and_the_mutating_modes_take_the_ordinary_path(tree, spy):
    _run(".")
    spy["fast"].clear()
    missing = CliRunner().invoke(cli, ["check", ".", "nope.sql"])
    assert missing.exit_code == 2 and "nope.sql: no such file or directory" in missing.output
    assert spy["fast"] == [False]
    spy["fast"].clear()
    for mode in (["--diff"], ["--fix", "--unsafe-fixes"]):
        _run(*mode, ".")
    assert spy["fast"] == []


def test_deleted_entries_fall_back_to_linting(tree, spy):
    first = _run("--format", "json", ".")
    _forget_outputs(tree)
    for entry in (tree / ".sqlperf_cache").rglob("*.json"):
        if entry.parent.name != "runs":
            entry.unlink()
    spy["fast"].clear()
    assert _run("--format", "json", ".") == first
    assert spy["fast"] == [False]


def test_a_schema_from_a_database_or_models_has_no_fast_path(tmp_path):
    assert fastpath.run_key(Settings(cache_dir=str(tmp_path))) is not None
    assert fastpath.run_key(Settings(cache_dir=str(tmp_path), schema_dsn="postgresql://x/y")) is None
    assert fastpath.run_key(Settings(cache_dir=str(tmp_path), schema_metadata="app.models:Base")) is None
    assert fastpath.run_key(Settings(cache_dir=None)) is None


PACK = '''
from sqlglot import exp
from sqlperf.rule import Rule

class NoTruncate(Rule):
    """## What it does
    Flags TRUNCATE.

    ## Why is this bad?
    It locks.

    ## Example
    ```sql
    TRUNCATE orders;
    ```

    ## Use instead
    ```sql
    DELETE FROM orders WHERE id = 1;
    ```
    """
    code = "XP001"
    name = "no-truncate"
    category = "shape"
    node_types = (exp.TruncateTable,)

    def visit(self, node, ctx):
        return [ctx.finding(self, node, MESSAGE, "delete in batches")]
'''


def test_an_edited_third_party_rule_module_is_recomputed(tmp_path):
    site = tmp_path / "site"
    (site / "fastpath_pack_demo-1.0.dist-info").mkdir(parents=True)
    (site / "fastpath_pack_demo-1.0.dist-info" / "METADATA").write_text("Metadata-Version: 2.1\nName: fastpath_pack_demo\nVersion: 1.0\n")
    (site / "fastpath_pack_demo-1.0.dist-info" / "entry_points.txt").write_text("[sqlperf.rules]\ndemo = fastpath_pack_demo\n")
    module = site / "fastpath_pack_demo.py"
    (tmp_path / "q.sql").write_text("TRUNCATE orders;\n")
    code = textwrap.dedent(
        f"""
        import sys
        sys.path.insert(0, {str(site)!r})
        from sqlperf.cli import main
        main(["check", "--format", "json", "--select", "ALL", "q.sql"])
        """
    )

    def messages() -> list[str]:
        done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=tmp_path, timeout=120)
        return [f["message"] for f in json.loads(done.stdout)["findings"] if f["code"] == "XP001"]

    module.write_text("MESSAGE = 'first wording'\n" + PACK)
    assert messages() == ["first wording"]
    assert messages() == ["first wording"]  # served by the fast path
    module.write_text("MESSAGE = 'second wording!'\n" + PACK)
    assert messages() == ["second wording!"]
