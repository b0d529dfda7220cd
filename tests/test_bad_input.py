"""Bad input: one clear line naming the file and the problem, the right exit code, and the
other files are still checked. Never a traceback."""

from __future__ import annotations

import json

import pytest
from click.testing import CliRunner

from sqlperf.cli import cli

BAD = "SELECT * FROM orders WHERE YEAR(created_at) = 2024;\n"


def check(*args):
    result = CliRunner().invoke(cli, ["check", "--no-cache", "--format", "json", *args], catch_exceptions=False)
    return result.exit_code, json.loads(result.stdout), result.stderr


@pytest.fixture
def tree(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "real.sql").write_text(BAD)
    return tmp_path


def test_empty_and_whitespace_files_are_clean(tree):
    (tree / "empty.sql").write_text("")
    (tree / "blank.sql").write_text("\n  \n-- only a comment\n;;\n")
    code, doc, err = check("empty.sql", "blank.sql")
    assert code == 0 and doc["findings"] == [] and err == ""


def test_binary_file(tree):
    (tree / "blob.sql").write_bytes(b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR" + bytes(range(256)))
    code, doc, err = check(".")
    assert code == 2
    assert err.strip() == "sqlperf: error: blob.sql: binary file, not SQL text (skipped)"
    assert {f["path"] for f in doc["findings"]} == {"real.sql"}  # the rest was still checked


def test_non_utf8_file(tree):
    (tree / "latin1.sql").write_bytes("SELECT 'café' FROM t;\n".encode("latin-1"))
    code, doc, err = check(".")
    assert code == 2
    assert "latin1.sql: not valid UTF-8 (byte 0xe9 at line 1)" in err
    assert {f["path"] for f in doc["findings"]} == {"real.sql"}


def test_missing_path(tree):
    code, doc, err = check("real.sql", "nope.sql")
    assert code == 2 and "nope.sql: no such file or directory" in err
    assert doc["findings"]


def test_deeply_nested_statement_is_a_parse_error_not_a_crash(tree):
    (tree / "deep.sql").write_text("SELECT " + "(" * 10000 + "1" + ")" * 10000 + ";\n" + BAD)
    code, doc, err = check("deep.sql")
    assert code == 1 and err == ""
    codes = [(f["code"], f["line"]) for f in doc["findings"]]
    assert ("SP000", 1) in codes and ("SP102", 2) in codes
    assert "nested too deeply" in next(f for f in doc["findings"] if f["code"] == "SP000")["message"]


def test_unparseable_statement_keeps_the_others(tree):
    (tree / "mixed.sql").write_text("SELECT id FROM orders WHERE;\nSELECT 'unterminated FROM t;\n" + BAD)
    code, doc, _ = check("mixed.sql", "--select", "SP000,SP102")
    assert code == 1
    found = [(f["code"], f["line"]) for f in doc["findings"]]
    assert ("SP000", 1) in found and ("SP102", 3) in found


def test_ten_megabyte_file_is_checked_not_skipped(tree):
    row = "SELECT id, name FROM customers WHERE id = 1 AND name LIKE 'x%';\n"
    text = row * (10_000_000 // len(row) + 1)
    (tree / "big.sql").write_text(text + "SELECT id FROM customers WHERE name LIKE '%tail';\n")
    code, doc, err = check("big.sql", "--select", "SP104")
    assert code == 1 and err == ""
    assert doc["summary"]["statements"] == text.count("\n") + 1
    [finding] = doc["findings"]
    assert finding["line"] == text.count("\n") + 1
