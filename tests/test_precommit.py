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


def _try_repo(repo: Path, *files: str, home: Path) -> subprocess.CompletedProcess:
    """Both hooks of this repository, as a user's `pre-commit try-repo` runs them."""
    env = {**os.environ, "PRE_COMMIT_HOME": str(home), "PIP_DISABLE_PIP_VERSION_CHECK": "1"}
    return subprocess.run(
        [*_pre_commit(), "try-repo", str(ROOT), "--files", *files, "--color", "never"],
        cwd=repo, capture_output=True, text=True, env=env, timeout=600,
    )


@pytest.mark.slow
def test_hooks_flag_the_bad_file_and_fix_it(user_repo, tmp_path_factory):
    home = tmp_path_factory.mktemp("pre-commit-home")
    first = _try_repo(user_repo, "bad.sql", "good.sql", "notes.txt", home=home)
    assert first.returncode == 1, first.stdout + first.stderr
    check_part, fix_part = first.stdout.split("- hook id: sqlperf-fix")
    # The check hook names the file, the place and the rule; the good file and a non-SQL file stay out.
    assert "- hook id: sqlperf\n" in check_part
    assert "bad.sql:1:29: SP102 [date-function-on-column]" in check_part
    assert "good.sql:" not in check_part and "notes.txt" not in first.stdout
    # The fix hook rewrote the file; pre-commit fails a hook that modified files so the user reviews them.
    assert "files were modified by this hook" in fix_part
    assert (user_repo / "bad.sql").read_text() == GOOD
    assert (user_repo / "notes.txt").read_text().startswith("SELECT * FROM t WHERE YEAR(a) = 1;")

    second = _try_repo(user_repo, "bad.sql", "good.sql", home=home)
    assert second.returncode == 0, second.stdout + second.stderr
    assert second.stdout.count("Passed") == 2
