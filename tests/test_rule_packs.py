"""Third-party rule packs load through the same entry points as the built-in rules."""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap

PACK = '''
from sqlglot import exp
from sqlperf.rule import Rule

class NoTruncate(Rule):
    """## What it does
    Flags TRUNCATE.

    ## Why is this bad?
    It takes an ACCESS EXCLUSIVE lock.

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
        return [ctx.finding(self, node, "TRUNCATE locks the table", "delete in batches")]
'''


def _install(site, name, module_source, entry):
    (site / f"{name}.py").write_text(module_source)
    dist = site / f"{name}-1.0.dist-info"
    dist.mkdir()
    (dist / "METADATA").write_text(f"Metadata-Version: 2.1\nName: {name}\nVersion: 1.0\n")
    (dist / "entry_points.txt").write_text(f"[sqlperf.rules]\n{name} = {entry}\n")


def _check(site, tmp_path, sql):
    (tmp_path / "q.sql").write_text(sql)
    code = textwrap.dedent(
        f"""
        import sys
        sys.path.insert(0, {str(site)!r})
        from sqlperf.cli import main
        main(["check", "--no-cache", "--format", "json", "--select", "ALL", {str(tmp_path / "q.sql")!r}])
        """
    )
    return subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=tmp_path)


def test_third_party_pack_runs_beside_builtins(tmp_path):
    site = tmp_path / "site"
    site.mkdir()
    _install(site, "sqlperf_pack_demo", PACK, "sqlperf_pack_demo")
    proc = _check(site, tmp_path, "TRUNCATE orders;\nSELECT * FROM t WHERE YEAR(a) = 2024;\n")
    codes = {f["code"] for f in json.loads(proc.stdout)["findings"]}
    assert {"XP001", "SP102"} <= codes, proc.stderr


def test_broken_pack_is_reported_and_skipped(tmp_path):
    site = tmp_path / "site"
    site.mkdir()
    _install(site, "sqlperf_pack_broken", "raise RuntimeError('boom')\n", "sqlperf_pack_broken")
    proc = _check(site, tmp_path, "SELECT * FROM t WHERE YEAR(a) = 2024;\n")
    assert "rule pack 'sqlperf_pack_broken' failed to load and was skipped: RuntimeError: boom" in proc.stderr
    assert "SP102" in {f["code"] for f in json.loads(proc.stdout)["findings"]}
    assert proc.returncode == 2
