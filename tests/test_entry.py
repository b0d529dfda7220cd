"""The console entry (sqlperf.entry): a warm check without click, the same bytes as the click CLI, else the click CLI."""

from __future__ import annotations

import json
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest

from sqlperf import entry

ROOT = Path(__file__).resolve().parent.parent

QUERIES = {
    "a.sql": "SELECT * FROM orders WHERE lower(email) = 'a@b.c';\nSELECT id FROM orders WHERE id IN (1, 2, 3, 4);\n",
    "sub/b.sql": "SELECT id FROM t WHERE name LIKE '%x' ORDER BY random() LIMIT 5;\n",
}

# Runs a main() as the console script would (sys.argv), then reports the modules it had loaded.
# Both the entry and the click CLI run under `python -c`: the same sys.path, so the same run key.
_PROBE = """
import atexit, importlib, json, sys
module, report = sys.argv[1], sys.argv[2]
def _report():
    with open(report, "w") as out:
        json.dump(sorted(sys.modules), out)
atexit.register(_report)
sys.argv = ["sqlperf", *sys.argv[3:]]
importlib.import_module(module).main()
"""


@pytest.fixture
def tree(tmp_path):
    for name, text in QUERIES.items():
        (tmp_path / name).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / name).write_text(text, encoding="utf-8")
    return tmp_path


def _run(tree: Path, module: str, *args: str) -> tuple[subprocess.CompletedProcess, list[str]]:
    report = tree / "modules.json"
    report.unlink(missing_ok=True)
    done = subprocess.run([sys.executable, "-c", _PROBE, module, str(report), *args], capture_output=True, cwd=tree,
                          timeout=120)
    assert report.is_file(), done.stderr
    return done, json.loads(report.read_text())


def _entry(tree: Path, *args: str):
    return _run(tree, "sqlperf.entry", *args)


def _click(tree: Path, *args: str):
    return _run(tree, "sqlperf.cli", *args)


def _loaded(modules: list[str], top: str) -> bool:
    return any(m == top or m.startswith(top + ".") for m in modules)


@pytest.mark.parametrize(
    "args",
    [
        pytest.param(["check", "."], id="text"),
        pytest.param(["check", "--format", "json", "--select", "ALL", "."], id="json"),
        pytest.param(["check", "--format=github", "a.sql", "sub"], id="github"),
        pytest.param(["check", "-v", "--no-color", "--ignore", "SP301", "--extend-select=SP104", "-j", "2"], id="text-options"),
        pytest.param(["check", "--exit-zero", "--format", "json", "--dialect", "mysql", "--cache-dir", "cache", "."],
                     id="json-exit-zero"),
    ],
)
def test_a_warm_check_imports_neither_click_nor_sqlglot_and_prints_what_the_click_cli_prints(tree, args):
    cold, cold_modules = _click(tree, *args)
    assert _loaded(cold_modules, "sqlglot")  # the probe does see imports
    reference, _ = _click(tree, *args)  # the click CLI's own warm answer
    warm, warm_modules = _entry(tree, *args)
    assert not _loaded(warm_modules, "click") and not _loaded(warm_modules, "sqlglot"), warm.stderr
    assert (warm.stdout, warm.returncode, warm.stderr) == (reference.stdout, reference.returncode, reference.stderr)
    assert warm.stdout == cold.stdout and warm.returncode == cold.returncode
    assert warm.returncode == (0 if "--exit-zero" in args else 1) and warm.stdout


def test_python_dash_m_sqlperf_and_the_console_script_are_the_entry(tree):
    scripts = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"]["scripts"]
    assert scripts["sqlperf"] == "sqlperf.entry:main"
    run_module = "import runpy; runpy.run_module('sqlperf', run_name='__main__', alter_sys=True)"
    probe = _PROBE.replace("importlib.import_module(module).main()", run_module)
    report = tree / "modules.json"

    def run():
        done = subprocess.run([sys.executable, "-c", probe, "-", str(report), "check", "--format", "json", "."],
                              capture_output=True, cwd=tree, timeout=120)
        return done, json.loads(report.read_text())

    cold, _ = run()
    warm, modules = run()
    assert cold.returncode == warm.returncode == 1 and warm.stdout == cold.stdout, warm.stderr
    assert not _loaded(modules, "click") and not _loaded(modules, "sqlglot")


@pytest.mark.parametrize(
    "extra",
    [
        pytest.param(["--output", "report.txt"], id="output"),
        pytest.param(["--fix"], id="fix"),
        pytest.param(["--no-cache"], id="no-cache"),
        pytest.param(["--schema", "schema.sql"], id="schema"),
        pytest.param(["-j2"], id="attached-short-value"),
        pytest.param(["--format", "json", "--format", "text"], id="repeated-option"),
    ],
)
def test_other_options_take_the_click_path_and_still_work(tree, extra):
    (tree / "schema.sql").write_text("CREATE TABLE orders (id int PRIMARY KEY, email text);\n", encoding="utf-8")
    args = ["check", *extra, "."]
    _entry(tree, *args)  # fills the cache where the options use it
    results = []
    for name in ("entry", "click"):
        for path in QUERIES:
            (tree / path).write_text(QUERIES[path], encoding="utf-8")  # undo --fix
        done, modules = _entry(tree, *args) if name == "entry" else _click(tree, *args)
        assert _loaded(modules, "click"), name
        report = tree / "report.txt"
        results.append((done.returncode, done.stdout, done.stderr, report.read_bytes() if report.exists() else None))
        report.unlink(missing_ok=True)
    assert results[0] == results[1]
    assert results[0][0] in (0, 1) and b"Traceback" not in results[0][2]


@pytest.mark.parametrize(
    "extra",
    [
        pytest.param(["--jobs", "0"], id="jobs-0"),
        pytest.param(["--jobs=x"], id="jobs-x"),
        pytest.param(["--format", "nope"], id="format"),
        pytest.param(["--format"], id="missing-value"),
        pytest.param(["--config", "missing.toml"], id="config-error"),
        pytest.param(["-j=4"], id="short-with-equals"),
    ],
)
def test_a_bad_value_gives_the_click_clis_error_and_exit_2(tree, extra):
    _entry(tree, "check", ".")  # a warm cache: the error must still be reported
    done, _ = _entry(tree, "check", ".", *extra)
    reference, _ = _click(tree, "check", ".", *extra)
    assert (done.returncode, done.stdout, done.stderr) == (reference.returncode, reference.stdout, reference.stderr)
    assert done.returncode == 2 and done.stdout == b""
    assert done.stderr.startswith(b"sqlperf: error:") and b"Traceback" not in done.stderr


@pytest.mark.parametrize("args", [["--version"], ["rule", "SP101"], [], ["check", "--help"]], ids=["version", "rule", "help", "check-help"])
def test_the_other_commands_are_the_click_clis(tree, args):
    done, modules = _entry(tree, *args)
    reference, _ = _click(tree, *args)
    assert (done.returncode, done.stdout, done.stderr) == (reference.returncode, reference.stdout, reference.stderr)
    assert (done.stdout or b"Usage:" in done.stderr) and _loaded(modules, "click")


def test_a_cold_check_through_the_entry_prints_once(tree):
    cold, modules = _entry(tree, "check", "--format", "json", ".")
    assert _loaded(modules, "click") and _loaded(modules, "sqlglot")
    assert cold.returncode == 1 and len(json.loads(cold.stdout)["findings"]) > 0


@pytest.mark.parametrize(
    "args, expected",
    [
        (["check"], {"paths": []}),
        (["check", "a.sql", "--select=SP1,SP3", "--select", "SP4", "-v", "b", "--jobs", "3"],
         {"paths": ["a.sql", "b"], "select": ["SP1,SP3", "SP4"], "verbose": True, "jobs": "3"}),
        (["check", "--no-color", "--format", "sarif", "--config=x.toml", "--exit-zero"],
         {"paths": [], "color": False, "fmt": "sarif", "config_file": "x.toml", "exit_zero": True}),
    ],
)
def test_parse_understands_the_simple_options(args, expected):
    parsed = entry.parse(args)
    assert parsed == {"select": [], "extend_select": [], "ignore": [], **expected}


@pytest.mark.parametrize(
    "args",
    [
        [], ["rule"], ["--version"], ["-h", "check"], ["check", "--help"], ["check", "-h"], ["check", "--"],
        ["check", "-"], ["check", ""], ["check", "--select"], ["check", "--select="], ["check", "--dialect", "-x"],
        ["check", "-v", "--verbose"], ["check", "--color", "--no-color"], ["check", "--exit-zero=1"],
        ["check", "--jobs", "01"], ["check", "--jobs", "-1"], ["check", "-j4"], ["check", "-vj", "4"],
        ["check", "--format", "JSON"], ["check", "--sel", "SP1"], ["check", "--cache-dir", __file__],
        ["check", "--fix"], ["check", "--diff"], ["check", "--verify"], ["check", "--schema", "x.sql"], ["check", "-o", "x"],
    ],
)
def test_parse_leaves_anything_else_to_click(args):
    assert entry.parse(args) is None


def test_a_warm_check_without_a_configuration_imports_nothing_it_does_not_use(tree):
    # The start-up a warm run pays is most of its time: no dataclasses (with inspect), no
    # typing, no TOML parser when no pyproject.toml on the way up configures sqlperf.
    (tree / "pyproject.toml").write_text('[project]\nname = "app"\ndependencies = [\n  "sqlperf",\n]\n', encoding="utf-8")
    _click(tree, "check", "--format", "json", ".")
    warm, modules = _entry(tree, "check", "--format", "json", ".")
    assert warm.returncode == 1 and warm.stdout, warm.stderr
    assert not _loaded(modules, "click") and not _loaded(modules, "sqlglot")
    heavy = [m for m in ("dataclasses", "inspect", "typing", "tomllib", "sqlperf.rule", "sqlperf.registry") if _loaded(modules, m)]
    assert heavy == []
