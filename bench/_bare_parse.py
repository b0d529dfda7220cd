"""The reference for the throughput benchmark: sqlglot parsing every file, nothing else.

``--tuned-gc`` gives the bare parse the garbage-collection policy sqlperf's command line uses
(sqlperf/gcpolicy.py: freeze what import made, collect the young generation between pieces
of work rather than every 700 allocations), so that the comparison can also be read as work
against work, without that policy's share of the difference.
"""

import gc
import sys
from pathlib import Path

import sqlglot

YOUNG_LIMIT = 50_000  # as sqlperf.gcpolicy


def main(root: str, dialect: str, tuned_gc: bool) -> None:
    if tuned_gc:
        gc.freeze()
        gc.disable()
    for path in sorted(Path(root).rglob("*.sql")):
        try:
            sqlglot.parse(path.read_text(encoding="utf-8"), read=dialect)
        except sqlglot.errors.SqlglotError:
            pass  # sqlperf reports these as SP000; the parser still did the work
        if tuned_gc and gc.get_count()[0] > YOUNG_LIMIT:
            gc.collect(0)


if __name__ == "__main__":
    args = [a for a in sys.argv[1:] if a != "--tuned-gc"]
    main(args[0], args[1] if len(args) > 1 else "postgres", "--tuned-gc" in sys.argv)
