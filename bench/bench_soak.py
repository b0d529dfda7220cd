"""Soak: 10,000 files of mixed size in one `check --select ALL` run; memory must not grow beyond the cache.

    .venv/bin/python bench/bench_soak.py [--files 10000] [--seed 1] [--jobs 1]

The tree holds mostly small files, some medium and large ones and a few of half a megabyte,
built from the project's sample queries, the TPC corpora when they are beside the checkout,
and generated statements; one file in twenty is a byte-level mutation (tests/test_fuzz_sql.py's
mutator), and a few are the bad inputs of DESIGN.md (binary, not UTF-8, empty, 10,000 nested
parentheses, unparseable). Everything runs in this process with the real runner
(``sqlperf.runner.check``), so its memory can be sampled as the files go by:

1. streaming, first (so no earlier pass has raised the high-water mark): every file through
   one Linter, each result dropped at once: the engine's own memory over 10,000 files, which
   must be flat after the first 20% of them;
2. cold, result cache on: one run of the real runner over the whole tree, resident memory
   (RSS) sampled every 250 files. The runner keeps every file's result (they are its
   output), so the memory those results take (measured with tracemalloc on a copy) is
   reported beside the growth;
3. warm: the same run again, served from the cache.

Figures go to stdout and bench/results/soak.json; the exit code is 1 when the engine's memory
grows by more than 10% between the first 20% and the end of the streaming pass, or when the
runs did not survive every bad file (a crash, or a file whose error was not reported).
"""

from __future__ import annotations

import argparse
import gc
import json
import os
import random
import shutil
import sys
import tempfile
import time
import tracemalloc
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tests"))

from sqlperf.config import Settings  # noqa: E402
from sqlperf.engine import Linter  # noqa: E402
from sqlperf.runner import check  # noqa: E402

import test_fuzz_sql as fuzz  # noqa: E402

RESULTS = ROOT / "bench" / "results"
SAMPLE_EVERY = 250


def rss_mb() -> float:
    with open("/proc/self/statm") as handle:
        return int(handle.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") / 2**20


# -- the tree ---------------------------------------------------------------------------------------
def statements(rng: random.Random) -> list[str]:
    pool = []
    for data in fuzz.real_queries():
        text = data.decode("utf-8", "replace")
        pool += [s.strip() + ";\n" for s in text.split(";") if s.strip()]
    tables = list(fuzz.TABLES)
    for _ in range(400):
        t = rng.choice(tables)
        c = rng.choice(fuzz.TABLES[t])
        pool.append(rng.choice([
            f"SELECT * FROM {t} WHERE lower({c}) = 'v{rng.randrange(10**6)}';\n",
            f"SELECT {c} FROM {t} WHERE {c} LIKE '%{rng.randrange(1000)}' ORDER BY random() LIMIT {rng.randrange(1, 5000)};\n",
            f"UPDATE {t} SET {c} = {rng.randrange(100)} WHERE {c} + 1 = {rng.randrange(100)};\n",
            f"DELETE FROM {t} WHERE {c} NOT IN (SELECT {c} FROM {t} WHERE {c} = NULL);\n",
            f"INSERT INTO {t} VALUES ({rng.randrange(100)}, 'x', now());\n",
            f"SELECT count(*) FROM {t} a JOIN {t} b ON a.{c} = b.{c} WHERE EXTRACT(year FROM a.{c}) = 2024 OFFSET 50000;\n",
        ]))
    return pool


BAD_FILES = {
    "bad_binary.sql": b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR" + bytes(range(256)),
    "bad_latin1.sql": "SELECT 'café' FROM t;\n".encode("latin-1"),
    "bad_empty.sql": b"",
    "bad_nested.sql": ("SELECT " + "(" * 10000 + "1" + ")" * 10000 + ";\n").encode(),
    "bad_unparseable.sql": b"SELECT id FROM orders WHERE;\nSELECT 'unterminated FROM t;\n",
}
# Files the runner must refuse with an error line (the others are linted, with SP000 where broken).
REFUSED = {"bad_binary.sql", "bad_latin1.sql"}


def build_tree(root: Path, files: int, rng: random.Random) -> dict:
    pool = statements(rng)
    generated = pool[-400:]
    sizes = {"small": 0, "medium": 0, "large": 0, "huge": 0, "mutated": 0, "bad": 0}
    total = 0
    for name, data in BAD_FILES.items():
        (root / name).write_bytes(data)
        sizes["bad"] += 1
        total += len(data)
    for n in range(files - len(BAD_FILES)):
        roll = rng.random()
        if roll < 0.001:
            kind, count = "huge", 6000
        elif roll < 0.03:
            kind, count = "large", rng.randint(40, 120)
        elif roll < 0.25:
            kind, count = "medium", rng.randint(5, 15)
        else:
            kind, count = "small", rng.randint(1, 2)
        # Mostly the short generated statements; now and then a long TPC or sample query.
        data = "".join(rng.choice(pool if rng.random() < 0.1 else generated) for _ in range(count)).encode()
        if rng.random() < 0.05:
            data = fuzz.mutate(data, random.Random(rng.getrandbits(64)), rng.randint(1, 8))
            kind = "mutated"
        sizes[kind] += 1
        folder = root / f"d{n % 50:02d}"
        folder.mkdir(exist_ok=True)
        (folder / f"q{n:05d}.sql").write_bytes(data)
        total += len(data)
    return {"files": files, "bytes": total, "by_kind": sizes}


# -- the runs ---------------------------------------------------------------------------------------
class Sampler:
    def __init__(self) -> None:
        self.done = 0
        self.samples: list[tuple[int, float]] = []

    def start(self, total: int) -> None:
        self.samples.append((0, rss_mb()))

    def __call__(self, path: str) -> None:
        self.done += 1
        if self.done % SAMPLE_EVERY == 0:
            self.samples.append((self.done, rss_mb()))


def runner_pass(root: Path, cache: Path, jobs: int) -> dict:
    sampler = Sampler()
    settings = Settings(select=["ALL"], cache_dir=str(cache))
    gc.collect()
    started = time.perf_counter()
    result = check([root], settings, jobs=jobs, progress=sampler)
    elapsed = time.perf_counter() - started
    sampler.samples.append((sampler.done, rss_mb()))
    errors = result.all_errors
    refused = {Path(e.split(":")[0]).name for e in errors}
    return {
        "seconds": round(elapsed, 1),
        "files": len(result.files),
        "statements": result.statements,
        "findings": len(result.findings),
        "error_lines": len(errors),
        "refused_as_expected": REFUSED <= refused,
        # Refusing an undecodable file (a bad one, or a mutation that broke its UTF-8) is expected.
        "refusals": sum(1 for e in errors if "binary file" in e or "not valid UTF-8" in e),
        "unexpected_errors": [e for e in errors if not ("binary file" in e or "not valid UTF-8" in e)][:5],
        "rss_mb": [(n, round(m, 1)) for n, m in sampler.samples],
        "result": result,
    }


def results_size_mb(result) -> float:
    """What the kept results themselves take: a deep copy of them, measured with tracemalloc."""
    import copy

    gc.collect()
    tracemalloc.start()
    before = tracemalloc.get_traced_memory()[0]
    duplicate = copy.deepcopy(result.files)
    after = tracemalloc.get_traced_memory()[0]
    tracemalloc.stop()
    del duplicate
    return (after - before) / 2**20


def streaming_pass(root: Path) -> dict:
    linter = Linter(Settings(select=["ALL"], cache_dir=None))
    paths = sorted(p for p in root.rglob("*.sql"))
    samples = [(0, rss_mb())]
    crashes = 0
    started = time.perf_counter()
    for n, path in enumerate(paths, start=1):
        try:
            linter.lint_path(path, path.name)
        except Exception:  # noqa: BLE001 - counted, and fails the run
            crashes += 1
        if n % SAMPLE_EVERY == 0:
            samples.append((n, rss_mb()))
    samples.append((len(paths), rss_mb()))
    elapsed = time.perf_counter() - started
    early = next(m for n, m in samples if n >= len(paths) * 0.2)
    end = samples[-1][1]
    return {
        "seconds": round(elapsed, 1),
        "crashes": crashes,
        "rss_mb": [(n, round(m, 1)) for n, m in samples],
        "rss_at_20pct_mb": round(early, 1),
        "rss_at_end_mb": round(end, 1),
        "growth_after_20pct": round((end - early) / early, 3),
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--files", type=int, default=10_000)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--jobs", type=int, default=1, help="worker processes for the runner passes (1: all in this process)")
    parser.add_argument("--keep", action="store_true", help="keep the generated tree")
    args = parser.parse_args()

    work = Path(tempfile.mkdtemp(prefix="sqlperf-soak-"))
    try:
        tree = work / "tree"
        tree.mkdir()
        made = build_tree(tree, args.files, random.Random(args.seed))
        print(f"tree: {made['files']} files, {made['bytes'] / 2**20:.1f} MB, {made['by_kind']}", flush=True)
        start_rss = rss_mb()

        stream = streaming_pass(tree)
        print(f"stream: {stream['seconds']} s, RSS at 20% {stream['rss_at_20pct_mb']} MB, at the end "
              f"{stream['rss_at_end_mb']} MB ({stream['growth_after_20pct']:+.1%}), crashes {stream['crashes']}", flush=True)

        cold = runner_pass(tree, work / "cache", args.jobs)
        kept = results_size_mb(cold.pop("result"))
        gc.collect()
        first = next(m for n, m in cold["rss_mb"] if n >= args.files * 0.2)
        cold["results_kept_mb"] = round(kept, 1)
        cold["rss_growth_after_20pct_net_of_results_mb"] = round(cold["rss_mb"][-1][1] - first - kept * 0.8, 1)
        print(f"cold:  {cold['seconds']} s, {cold['statements']} statements, {cold['findings']} findings, "
              f"RSS {cold['rss_mb'][0][1]} -> {cold['rss_mb'][-1][1]} MB (results kept: {kept:.1f} MB)", flush=True)

        warm = runner_pass(tree, work / "cache", args.jobs)
        warm.pop("result")
        print(f"warm:  {warm['seconds']} s, RSS {warm['rss_mb'][0][1]} -> {warm['rss_mb'][-1][1]} MB", flush=True)
    finally:
        if not args.keep:
            shutil.rmtree(work, ignore_errors=True)

    survived = (cold["refused_as_expected"] and warm["refused_as_expected"] and not cold["unexpected_errors"]
                and stream["crashes"] == 0 and cold["files"] == args.files)
    flat = stream["growth_after_20pct"] <= 0.10
    summary = {
        "command": f"bench/bench_soak.py --files {args.files} --seed {args.seed} --jobs {args.jobs}",
        "tree": made,
        "process_rss_before_mb": round(start_rss, 1),
        "cold": cold,
        "warm": warm,
        "streaming": stream,
        "faults_survived": survived,
        "engine_memory_flat": flat,
    }
    RESULTS.mkdir(parents=True, exist_ok=True)
    (RESULTS / "soak.json").write_text(json.dumps(summary, indent=2))
    print(json.dumps({k: v for k, v in summary.items() if k not in ("cold", "warm", "streaming")}))
    print("unexpected errors:", cold["unexpected_errors"])
    return 0 if survived and flat else 1


if __name__ == "__main__":
    sys.exit(main())
