"""The plan model: one tree of :class:`PlanNode` for PostgreSQL's JSON plans and SQLite's query plans.

Only what confirmation and the plan checks read is lifted into attributes; the raw node
stays available for the JSON output.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any, Iterator

SCAN_TYPES = frozenset(
    {"Seq Scan", "Index Scan", "Index Only Scan", "Bitmap Heap Scan", "Bitmap Index Scan", "Tid Scan", "SCAN", "SEARCH"}
)


@dataclass
class PlanNode:
    node_type: str
    relation: str | None = None
    schema: str | None = None
    alias: str | None = None
    index_name: str | None = None
    index_cond: str | None = None
    recheck_cond: str | None = None
    filter: str | None = None
    join_cond: str | None = None  # Hash Cond / Merge Cond / Join Filter
    startup_cost: float = 0.0
    total_cost: float = 0.0
    plan_rows: float = 0.0
    actual_rows: float | None = None
    actual_loops: float | None = None
    rows_removed_by_filter: float | None = None
    sort_method: str | None = None
    sort_space_type: str | None = None
    sort_space_kb: float | None = None
    hash_batches: int | None = None
    disk_kb: float | None = None
    children: list[PlanNode] = field(default_factory=list)
    raw: dict = field(default_factory=dict, repr=False)

    @classmethod
    def from_json(cls, node: dict) -> PlanNode:
        join_cond = node.get("Hash Cond") or node.get("Merge Cond") or node.get("Join Filter")
        disk = node.get("Disk Usage")
        return cls(
            node_type=node.get("Node Type", "?"),
            relation=node.get("Relation Name"),
            schema=node.get("Schema"),
            alias=node.get("Alias"),
            index_name=node.get("Index Name"),
            index_cond=node.get("Index Cond"),
            recheck_cond=node.get("Recheck Cond"),
            filter=node.get("Filter"),
            join_cond=join_cond,
            startup_cost=float(node.get("Startup Cost", 0.0)),
            total_cost=float(node.get("Total Cost", 0.0)),
            plan_rows=float(node.get("Plan Rows", 0.0)),
            actual_rows=_maybe_float(node.get("Actual Rows")),
            actual_loops=_maybe_float(node.get("Actual Loops")),
            rows_removed_by_filter=_maybe_float(node.get("Rows Removed by Filter")),
            sort_method=node.get("Sort Method"),
            sort_space_type=node.get("Sort Space Type"),
            sort_space_kb=_maybe_float(node.get("Sort Space Used")),
            hash_batches=node.get("HashAgg Batches") or node.get("Hash Batches"),
            disk_kb=_maybe_float(disk),
            children=[cls.from_json(child) for child in node.get("Plans", [])],
            raw={k: v for k, v in node.items() if k != "Plans"},
        )

    def walk(self) -> Iterator[PlanNode]:
        yield self
        for child in self.children:
            yield from child.walk()

    @property
    def is_scan(self) -> bool:
        return self.node_type in SCAN_TYPES

    @property
    def is_seq_scan(self) -> bool:
        return self.node_type in ("Seq Scan", "SCAN")

    @property
    def uses_index(self) -> bool:
        return self.index_name is not None

    def label(self) -> str:
        """``Seq Scan on orders`` / ``Index Scan using ix on orders``."""
        text = self.node_type
        if self.index_name:
            text += f" using {self.index_name}"
        if self.relation:
            text += f" on {self.relation}"
        return text

    def to_json(self) -> dict:
        out: dict[str, Any] = {"node_type": self.node_type}
        for key in ("relation", "index_name", "index_cond", "recheck_cond", "filter", "join_cond"):
            value = getattr(self, key)
            if value is not None:
                out[key] = value
        out["startup_cost"] = self.startup_cost
        out["total_cost"] = self.total_cost
        out["plan_rows"] = self.plan_rows
        for key in ("actual_rows", "actual_loops", "rows_removed_by_filter", "sort_method", "sort_space_type", "disk_kb"):
            value = getattr(self, key)
            if value is not None:
                out[key] = value
        if self.children:
            out["children"] = [child.to_json() for child in self.children]
        return out


def _maybe_float(value: Any) -> float | None:
    return None if value is None else float(value)


@dataclass
class Plan:
    root: PlanNode
    sql: str = ""
    planning_ms: float | None = None
    execution_ms: float | None = None
    analyzed: bool = False
    backend: str = "postgresql"
    # The what-if indexes that were visible when this plan was made.
    hypothetical: tuple[str, ...] = ()
    raw: Any = None

    @classmethod
    def from_json(cls, raw: Any, *, sql: str = "", hypothetical: tuple[str, ...] = ()) -> Plan:
        """From ``EXPLAIN (FORMAT JSON)`` output: a one-element list (or its JSON text)."""
        if isinstance(raw, str):
            import json

            raw = json.loads(raw)
        top = raw[0] if isinstance(raw, list) else raw
        root = PlanNode.from_json(top["Plan"])
        return cls(
            root=root,
            sql=sql,
            planning_ms=top.get("Planning Time"),
            execution_ms=top.get("Execution Time"),
            analyzed="Execution Time" in top or root.actual_rows is not None,
            hypothetical=hypothetical,
            raw=raw,
        )

    @classmethod
    def from_sqlite(cls, rows: list[tuple], *, sql: str = "", hypothetical: tuple[str, ...] = ()) -> Plan:
        """From ``EXPLAIN QUERY PLAN`` rows ``(id, parent, notused, detail)``."""
        root = PlanNode("QUERY PLAN")
        by_id: dict[int, PlanNode] = {0: root}
        for row in rows:
            node_id, parent, detail = row[0], row[1], row[-1]
            node = _sqlite_node(detail)
            by_id[node_id] = node
            by_id.get(parent, root).children.append(node)
        return cls(root=root, sql=sql, backend="sqlite", hypothetical=hypothetical, raw=[list(r) for r in rows])

    @property
    def total_cost(self) -> float:
        return self.root.total_cost

    def nodes(self) -> Iterator[PlanNode]:
        return self.root.walk()

    def scans(self, relation: str | None = None) -> list[PlanNode]:
        """Scan nodes, optionally only those of ``relation`` (case-insensitive, schema ignored)."""
        wanted = relation.split(".")[-1].strip('"').lower() if relation else None
        return [n for n in self.nodes() if n.is_scan and (wanted is None or (n.relation or "").lower() == wanted)]

    def to_json(self) -> dict:
        out: dict[str, Any] = {"backend": self.backend, "total_cost": self.total_cost, "root": self.root.to_json()}
        if self.hypothetical:
            out["hypothetical_indexes"] = list(self.hypothetical)
        if self.planning_ms is not None:
            out["planning_ms"] = self.planning_ms
        if self.execution_ms is not None:
            out["execution_ms"] = self.execution_ms
        return out

    def text(self) -> str:
        """An indented, EXPLAIN-like rendering for ``sqlperf explain``."""
        lines: list[str] = []

        def render(node: PlanNode, depth: int) -> None:
            pad = "  " * depth + ("-> " if depth else "")
            cost = f"  (cost={node.startup_cost:.2f}..{node.total_cost:.2f} rows={node.plan_rows:g})" if self.backend == "postgresql" else ""
            actual = ""
            if node.actual_rows is not None:
                actual = f" (actual rows={node.actual_rows:g} loops={node.actual_loops or 1:g})"
            lines.append(f"{pad}{node.label()}{cost}{actual}")
            inner = "  " * (depth + 1) + "   "
            for title, value in (
                ("Index Cond", node.index_cond),
                ("Recheck Cond", node.recheck_cond),
                ("Filter", node.filter),
                ("Cond", node.join_cond),
            ):
                if value:
                    lines.append(f"{inner}{title}: {value}")
            if node.sort_method:
                lines.append(f"{inner}Sort Method: {node.sort_method} ({node.sort_space_type})")
            for child in node.children:
                render(child, depth + 1)

        if self.backend == "sqlite":
            for child in self.root.children:
                render(child, 0)
        else:
            render(self.root, 0)
        return "\n".join(lines)


_SQLITE_DETAIL = re.compile(
    r"^(?P<op>SCAN|SEARCH)\s+(?:TABLE\s+)?(?P<table>[^\s]+)(?:\s+AS\s+(?P<alias>\S+))?"
    r"(?:\s+USING\s+(?:(?:COVERING|AUTOMATIC(?:\s+COVERING)?|INTEGER\s+PRIMARY\s+KEY|PRIMARY\s+KEY)\s+)?(?:INDEX\s+(?P<index>\S+))?)?"
    r"(?:\s*\((?P<cond>.*)\))?",
    re.I,
)


def _sqlite_node(detail: str) -> PlanNode:
    m = _SQLITE_DETAIL.match(detail)
    if not m:
        return PlanNode(detail, raw={"detail": detail})
    op = m["op"].upper()
    index = m["index"]
    if index is None and "PRIMARY KEY" in detail.upper() and op == "SEARCH":
        index = "PRIMARY KEY"
    return PlanNode(
        op,
        relation=m["table"],
        alias=m["alias"],
        index_name=index,
        index_cond=m["cond"] if op == "SEARCH" else None,
        raw={"detail": detail},
    )
