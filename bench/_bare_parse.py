"""The reference for the throughput benchmark: sqlglot parsing every file, nothing else."""

import sys
from pathlib import Path

import sqlglot


def main(root: str, dialect: str) -> None:
    for path in sorted(Path(root).rglob("*.sql")):
        try:
            sqlglot.parse(path.read_text(encoding="utf-8"), read=dialect)
        except sqlglot.errors.SqlglotError:
            pass  # sqlperf reports these as SP000; the parser still did the work


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2] if len(sys.argv) > 2 else "postgres")
