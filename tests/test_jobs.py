"""--jobs: the same results, in the same order, whether one process or several did the work."""

from __future__ import annotations

from pathlib import Path

import pytest

from sqlperf import runner
from sqlperf.config import Settings
from sqlperf.runner import check

_SHAPES = [
    "SELECT * FROM orders WHERE lower(email) = 'x{n}@example.com';\n",
    "SELECT id FROM events WHERE date_trunc('day', created_at) = DATE '2024-01-{d:02d}';\n",
    "SELECT name FROM users WHERE name LIKE '%{n}' ORDER BY id;\n",
    "SELECT a, b FROM t{n} JOIN u ON u.id = t{n}.u_id WHERE t{n}.x = {n};\n",
    "SELECT broken FROM WHERE;\n",
]


@pytest.fixture
def tree(tmp_path: Path) -> Path:
    root = tmp_path / "sql"
    for n in range(60):
        folder = root / f"dir{n % 7}"
        folder.mkdir(parents=True, exist_ok=True)
        text = "".join(shape.format(n=n, d=n % 28 + 1) for shape in _SHAPES[: 1 + n % len(_SHAPES)])
        # Uneven sizes, so that workers finish out of order.
        (folder / f"q{n:03d}.sql").write_text(text * (1 + (n * 7) % 9), encoding="utf-8")
    return root


def _run(tree: Path, jobs: int, monkeypatch, **settings):
    # Force the pool even for this small tree: the size threshold is about speed, not results.
    monkeypatch.setattr(runner, "PARALLEL_MIN_BYTES", 0)
    monkeypatch.setattr(runner, "PARALLEL_MIN_FILES", 1)
    return check([tree], Settings(select=["ALL"], cache_dir=None, **settings), jobs=jobs)


def test_parallel_results_equal_serial_results_in_the_same_order(tree, monkeypatch):
    serial = _run(tree, 1, monkeypatch)
    parallel = _run(tree, 3, monkeypatch)
    assert [r.path for r in serial.files] == sorted(r.path for r in serial.files)
    assert parallel.files == serial.files
    assert parallel.findings == serial.findings
    assert {f.code for f in serial.findings} >= {"SP000", "SP101", "SP102", "SP104", "SP301"}


def test_parallel_run_uses_worker_processes(tree, monkeypatch, tmp_path):
    import multiprocessing
    import os

    if multiprocessing.get_start_method() != "fork":
        pytest.skip("the spy below reaches the workers only when they are forked")
    marks = tmp_path / "pids"
    marks.mkdir()
    original = runner._lint_one

    def spy(*args):
        (marks / str(os.getpid())).touch()
        return original(*args)

    monkeypatch.setattr(runner, "_lint_one", spy)
    result = _run(tree, 2, monkeypatch)
    pids = {int(p.name) for p in marks.iterdir()}
    assert os.getpid() not in pids
    assert len(pids) == 2
    assert len(result.files) == 60


def test_parallel_run_fills_and_uses_the_cache(tree, monkeypatch, tmp_path):
    cache_dir = tmp_path / "cache"
    monkeypatch.setattr(runner, "PARALLEL_MIN_BYTES", 0)
    monkeypatch.setattr(runner, "PARALLEL_MIN_FILES", 1)
    settings = Settings(select=["ALL"], cache_dir=str(cache_dir))
    cold = check([tree], settings, jobs=2)
    assert len(list(cache_dir.rglob("*.json"))) == len(cold.files)
    warm = check([tree], settings, jobs=2)
    assert warm.files == cold.files


def test_small_runs_stay_in_process(tmp_path, monkeypatch):
    (tmp_path / "a.sql").write_text("SELECT 1;\n", encoding="utf-8")
    (tmp_path / "b.sql").write_text("SELECT 2;\n", encoding="utf-8")

    def no_pool(*args, **kwargs):
        raise AssertionError("a two-file run must not start worker processes")

    monkeypatch.setattr(runner, "_lint_in_workers", no_pool)
    result = check([tmp_path], Settings(cache_dir=None), jobs=4)
    assert len(result.files) == 2


def test_progress_sees_every_file_once(tree, monkeypatch):
    monkeypatch.setattr(runner, "PARALLEL_MIN_BYTES", 0)
    monkeypatch.setattr(runner, "PARALLEL_MIN_FILES", 1)

    class Recorder:
        total = None

        def __init__(self):
            self.seen = []

        def start(self, total):
            self.total = total

        def __call__(self, shown):
            self.seen.append(shown)

    recorder = Recorder()
    result = check([tree], Settings(cache_dir=None), jobs=2, progress=recorder)
    assert recorder.total == len(result.files)
    assert sorted(recorder.seen) == sorted(r.path for r in result.files)


def test_default_jobs_is_the_usable_cores():
    assert runner.default_jobs() >= 1


def test_cli_jobs_option_gives_the_same_output(tree, monkeypatch):
    from click.testing import CliRunner

    from sqlperf.cli import cli

    monkeypatch.setattr(runner, "PARALLEL_MIN_BYTES", 0)
    monkeypatch.setattr(runner, "PARALLEL_MIN_FILES", 1)
    outputs = [
        CliRunner().invoke(cli, ["check", "--no-cache", "--select", "ALL", "--format", "json", "--jobs", jobs, str(tree)]).output
        for jobs in ("1", "2")
    ]
    assert outputs[0] == outputs[1]
    assert '"SP101"' in outputs[0]
