"""The pre-commit hooks, through the real `pre-commit try-repo`."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
BAD = "SELECT id FROM orders WHERE YEAR(created_at) = 2024;\n"
GOOD = "SELECT id FROM orders WHERE created_at >= '2024-01-01' AND created_at < '2025-01-01';\n"


def _pre_commit() -> list[str]:
    exe = shutil.which("pre-commit", path=str(Path(sys.executable).parent)) or shutil.which("pre-commit")
    if exe is None:
        pytest.skip("pre-commit is not installed (it is in the test extra)")
    return [exe]


def _git(repo: Path, *args: str) -> None:
    subprocess.run(["git", *args], cwd=repo, check=True, capture_output=True)


@pytest.fixture(scope="module")
def user_repo(tmp_path_factory):
    repo = tmp_path_factory.mktemp("user-repo")
    _git(repo, "init", "-q")
    _git(repo, "config", "user.email", "dev@example.com")
    _git(repo, "config", "user.name", "dev")
    (repo / "bad.sql").write_text(BAD)
    (repo / "good.sql").write_text(GOOD)
    (repo / "notes.txt").write_text("SELECT * FROM t WHERE YEAR(a) = 1;\n")  # not SQL by type: ignored
    _git(repo, "add", ".")
    return repo


def _try_repo(repo: Path, hook: str, *files: str, home: Path) -> subprocess.CompletedProcess:
    env = {**os.environ, "PRE_COMMIT_HOME": str(home), "PIP_DISABLE_PIP_VERSION_CHECK": "1"}
    return subprocess.run(
        [*_pre_commit(), "try-repo", str(ROOT), hook, "--files", *files, "--color", "never"],
        cwd=repo, capture_output=True, text=True, env=env, timeout=600,
    )


@pytest.mark.slow
def test_hooks_flag_the_bad_file_and_fix_it(user_repo, tmp_path_factory):
    home = tmp_path_factory.mktemp("pre-commit-home")
    checked = _try_repo(user_repo, "sqlperf", "bad.sql", "good.sql", "notes.txt", home=home)
    assert checked.returncode == 1, checked.stdout + checked.stderr
    assert "bad.sql:1:29: SP102 [date-function-on-column]" in checked.stdout
    assert "good.sql:" not in checked.stdout
    assert "notes.txt" not in checked.stdout

    clean = _try_repo(user_repo, "sqlperf", "good.sql", home=home)
    assert clean.returncode == 0, clean.stdout + clean.stderr

    fixed = _try_repo(user_repo, "sqlperf-fix", "bad.sql", home=home)
    assert fixed.returncode == 1  # pre-commit fails a hook that modified files, so the user reviews them
    assert "files were modified by this hook" in fixed.stdout
    assert (user_repo / "bad.sql").read_text() == GOOD
