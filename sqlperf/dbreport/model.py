"""What the report knows: plain dataclasses that every collector fills and every renderer reads.

``Report.to_json()`` is the JSON format and the single source the other renderers agree with.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any


@dataclass
class Thresholds:
    """Every number the report judges by; each is a ``sqlperf report`` option with this default."""

    top: int = 20  # queries shown and analysed
    seq_scan_min_rows: int = 10_000  # a table smaller than this is never called seq-scan heavy
    seq_scan_min_share: float = 0.5  # share of the table's scans that are sequential
    min_cost_reduction: float = 0.5  # a what-if index must cut a query's cost by at least this share
    max_advice: int = 10  # index suggestions at most
    stats_min_age_hours: float = 168.0  # younger statistics make "unused" tentative
    statement_timeout_ms: int = 10_000


@dataclass
class QueryStat:
    queryid: int
    query: str
    calls: int
    total_ms: float
    mean_ms: float
    rows: int
    hit_ratio: float | None  # shared buffer cache hits / (hits + reads); None without reads or hits
    share: float  # of the database's total execution time in pg_stat_statements
    findings: list[dict] = field(default_factory=list)  # static rules: code, name, message, help
    plan_warnings: list[dict] = field(default_factory=list)  # plan checks (SP601 ...)
    plan_cost: float | None = None
    plan_error: str | None = None
    plan_text: str | None = None
    seq_scans: list[str] = field(default_factory=list)  # relations the generic plan reads sequentially

    @property
    def rows_per_call(self) -> float:
        return self.rows / self.calls if self.calls else 0.0

    def to_json(self) -> dict:
        out = asdict(self)
        out["rows_per_call"] = self.rows_per_call
        return out


@dataclass
class QueryGain:
    """What one suggested index does for one query."""

    queryid: int
    query: str
    cost_before: float | None
    cost_after: float | None
    total_ms: float  # calls x mean time: the weight of this query
    saving_ms: float | None = None  # total_ms x (1 - after/before), an estimate


@dataclass
class IndexSuggestion:
    table: str
    columns: list[str]
    ddl: str
    status: str  # "verified" (HypoPG or a rolled-back build), "unverified" (no what-if backend)
    method: str  # "hypopg" | "build" | "none"
    gains: list[QueryGain] = field(default_factory=list)
    writes_per_hour: float | None = None  # inserts + updates + deletes on the table since the stats reset
    table_rows: float | None = None
    reason: str = ""

    @property
    def saving_ms(self) -> float:
        return sum(g.saving_ms or 0.0 for g in self.gains)

    def to_json(self) -> dict:
        out = asdict(self)
        out["saving_ms"] = self.saving_ms
        return out


@dataclass
class HealthItem:
    kind: str  # unused-index | duplicate-index | redundant-index | unindexed-foreign-key | invalid-index | seq-scan-heavy
    table: str
    message: str
    index: str | None = None
    size_bytes: int | None = None
    fix: str | None = None  # ready SQL
    detail: dict[str, Any] = field(default_factory=dict)

    def to_json(self) -> dict:
        return asdict(self)


HEALTH_KINDS = (
    ("unused-index", "Unused indexes"),
    ("duplicate-index", "Duplicate indexes"),
    ("redundant-index", "Prefix-redundant indexes"),
    ("unindexed-foreign-key", "Foreign keys without an index"),
    ("invalid-index", "Invalid indexes"),
    ("seq-scan-heavy", "Tables read mostly by sequential scans"),
)


@dataclass
class Notice:
    """Something the report could not do, and exactly what to enable so it can."""

    section: str  # "queries" | "advice" | "health" | "connection"
    message: str
    remedy: str = ""


@dataclass
class Report:
    database: str  # host:port/dbname, never a password
    server_version: str = ""
    collected_at: str = ""
    stats_reset: str | None = None
    stats_age_hours: float | None = None
    total_exec_ms: float = 0.0  # of every statement pg_stat_statements holds for this database
    statements_seen: int = 0
    queries: list[QueryStat] = field(default_factory=list)
    advice: list[IndexSuggestion] = field(default_factory=list)
    health: list[HealthItem] = field(default_factory=list)
    notices: list[Notice] = field(default_factory=list)
    sections: dict[str, str] = field(default_factory=dict)  # section -> "ok" | "partial" | "unavailable"
    thresholds: Thresholds = field(default_factory=Thresholds)
    timings: dict[str, float] = field(default_factory=dict)

    def health_of(self, kind: str) -> list[HealthItem]:
        return [item for item in self.health if item.kind == kind]

    def notice(self, section: str, message: str, remedy: str = "") -> None:
        self.notices.append(Notice(section, " ".join(message.split()), remedy))

    def to_json(self) -> dict:
        from sqlperf._version import __version__

        return {
            "version": __version__,
            "database": self.database,
            "server_version": self.server_version,
            "collected_at": self.collected_at,
            "stats_reset": self.stats_reset,
            "stats_age_hours": self.stats_age_hours,
            "total_exec_ms": self.total_exec_ms,
            "statements_seen": self.statements_seen,
            "sections": dict(self.sections),
            "notices": [asdict(n) for n in self.notices],
            "queries": [q.to_json() for q in self.queries],
            "advice": [a.to_json() for a in self.advice],
            "health": [h.to_json() for h in self.health],
            "thresholds": asdict(self.thresholds),
            "timings": dict(self.timings),
        }
