"""Fuzzing the check pipeline through the command line: `sqlperf check --select ALL` on fuzzed files.

Whatever the file holds, the command ends with exit 0, 1 or 2, never a traceback; exit 2 comes
with one line on stderr naming the file; JSON output parses and keeps every finding inside the
file; and `--fix` run twice leaves the file as the first run left it.
"""

from __future__ import annotations

import json
import random
import shutil
import tempfile
from pathlib import Path

import pytest
from click.testing import CliRunner
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from sqlperf.cli import cli

from test_fuzz_sql import MIGRATIONS, mutate, mutated_queries, real_queries, sql_files

FORMATS = ("json", "text", "sarif", "github")
CLI_FUZZ = settings(max_examples=20, deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])


@pytest.fixture(scope="module")
def workdir():
    folder = Path(tempfile.mkdtemp(prefix="sqlperf-fuzz-"))
    yield folder
    shutil.rmtree(folder, ignore_errors=True)


def run_check(path: Path, *args: str):
    result = CliRunner().invoke(cli, ["check", "--no-cache", "--select", "ALL", "--schema", str(MIGRATIONS), *args, str(path)])
    assert result.exception is None or isinstance(result.exception, SystemExit), repr(result.exception)
    assert "Traceback" not in result.output and "Traceback" not in result.stderr, result.stderr
    assert result.exit_code in (0, 1, 2), result.exit_code
    if result.exit_code == 2:
        # The text report carries its errors itself ("error: ..."); the other formats put them on stderr.
        if "--format" in args and args[args.index("--format") + 1] == "text":
            lines = [line for line in result.output.splitlines() if line.startswith("error: ")]
        else:
            lines = [line for line in result.stderr.splitlines() if line.strip()]
            assert all(line.startswith("sqlperf: ") for line in lines), result.stderr
        assert lines and all(path.name in line for line in lines), result.output + result.stderr
    return result


def assert_json_findings_inside(result, text: str) -> None:
    doc = json.loads(result.stdout)
    lines = text.split("\n")
    for finding in doc["findings"]:
        assert 1 <= finding["line"] <= finding["end_line"] <= len(lines), finding
        assert 1 <= finding["column"] <= len(lines[finding["line"] - 1]) + 1, finding
        assert 1 <= finding["end_column"] <= len(lines[finding["end_line"] - 1]) + 1, finding


@CLI_FUZZ
@given(data=mutated_queries(), fmt=st.sampled_from(FORMATS))
def test_cli_on_mutated_queries(workdir, data, fmt):
    target = workdir / "mutated.sql"
    target.write_bytes(data)
    result = run_check(target, "--format", fmt)
    if fmt == "json":
        json.loads(result.stdout)  # even when a file was refused, the document is whole


@CLI_FUZZ
@given(text=sql_files())
def test_cli_json_on_generated_sql(workdir, text):
    target = workdir / "generated.sql"
    target.write_text(text, encoding="utf-8", newline="")
    result = run_check(target, "--format", "json")
    assert result.exit_code in (0, 1), result.stderr
    assert_json_findings_inside(result, text)


@settings(max_examples=20, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(text=sql_files())
def test_cli_fix_is_idempotent(workdir, text):
    target = workdir / "fixme.sql"
    target.write_text(text, encoding="utf-8", newline="")
    first = run_check(target, "--fix", "--format", "json")
    once = target.read_bytes().decode("utf-8")  # not read_text: it would turn a lone \r into \n
    second = run_check(target, "--fix", "--format", "json")
    assert target.read_bytes().decode("utf-8") == once, f"second --fix changed the file:\n{once}"
    assert first.exit_code in (0, 1) and second.exit_code in (0, 1)
    assert_json_findings_inside(second, once)


def test_cli_mutated_batch_with_undecodable_files_keeps_the_rest(workdir):
    """Many fuzzed files in one run: the bad ones are refused one line each, the good ones all linted."""
    folder = workdir / "batch"
    folder.mkdir(exist_ok=True)
    rng = random.Random(3)
    corpus = real_queries()
    for i in range(40):
        (folder / f"q{i:02d}.sql").write_bytes(mutate(rng.choice(corpus), random.Random(i), 4))
    (folder / "zz_binary.sql").write_bytes(b"\x00\x01\x02SELECT")
    (folder / "zz_latin1.sql").write_bytes("SELECT 'café' FROM t;".encode("latin-1"))
    (folder / "zz_good.sql").write_text("SELECT * FROM orders WHERE lower(status) = 'x';\n")
    result = run_check(folder, "--format", "json")
    assert result.exit_code == 2
    doc = json.loads(result.stdout)
    assert any(f["path"].endswith("zz_good.sql") for f in doc["findings"])
    refused = [line for line in result.stderr.splitlines() if line.strip()]
    assert any("zz_binary.sql" in line for line in refused) and any("zz_latin1.sql" in line for line in refused)


def test_text_report_of_a_refused_file_does_not_say_all_passed(workdir):
    """Found by the long fuzz run: a file refused as non-UTF-8 ended a text report with "All checks passed"."""
    target = workdir / "latin1.sql"
    target.write_bytes("SELECT 'U:\xdbnited' FROM t;\n".encode("latin-1"))
    result = run_check(target, "--format", "text", "--no-color")
    assert result.exit_code == 2
    assert "not valid UTF-8 (byte 0xdb at line 1)" in result.output
    assert "All checks passed" not in result.output and "1 error" in result.output


def test_a_statement_that_crashes_the_parser_does_not_stop_the_run(workdir):
    """Found by the long fuzz run: sqlglot raised TypeError on "b ?}" and the run ended with an internal error."""
    folder = workdir / "parser-crash"
    folder.mkdir(exist_ok=True)
    (folder / "a_crash.sql").write_text("SELECT a FROM t WHERE b ?}\n")
    (folder / "b_fine.sql").write_text("SELECT * FROM orders WHERE lower(status) = 'x';\n")
    result = run_check(folder, "--format", "json")
    assert result.exit_code == 1, result.stderr
    found = {(Path(f["path"]).name, f["code"]) for f in json.loads(result.stdout)["findings"]}
    assert ("a_crash.sql", "SP000") in found and ("b_fine.sql", "SP101") in found
