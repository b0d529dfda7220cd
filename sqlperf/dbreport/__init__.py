"""``sqlperf report``: the live PostgreSQL review (pg_stat_statements, index advice, catalog health).

Imported only by the ``report`` command: nothing else in sqlperf needs psycopg or rich tables from here.
"""

from __future__ import annotations

from sqlperf.dbreport.collect import build_report
from sqlperf.dbreport.model import Report, Thresholds

__all__ = ["Report", "Thresholds", "build_report"]
