"""Section 3: catalog health, from the catalog and the cumulative statistics views.

Precision before recall: an index that enforces anything (primary key, unique, exclusion,
a constraint, replica identity) is never called unused or redundant, and neither is the
only index that covers a foreign key (the checks on the referenced table's deletes need it
even when nothing has used it yet).
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlperf.dbreport.model import HealthItem, Report, Thresholds

_INDEXES = """
SELECT i.indexrelid, n.nspname, t.relname, ic.relname, am.amname,
       i.indisunique, i.indisprimary, i.indisexclusion, i.indisvalid, i.indisready, i.indisreplident,
       EXISTS (SELECT 1 FROM pg_constraint c WHERE c.conindid = i.indexrelid AND c.conrelid = i.indrelid),
       i.indnkeyatts, i.indkey::int2[], i.indclass::oid[], i.indcollation::oid[], i.indoption::int2[],
       coalesce(pg_get_expr(i.indexprs, i.indrelid), ''), coalesce(pg_get_expr(i.indpred, i.indrelid), ''),
       pg_relation_size(i.indexrelid), coalesce(s.idx_scan, 0), pg_get_indexdef(i.indexrelid), i.indrelid,
       t.relkind = 'p' OR EXISTS (SELECT 1 FROM pg_inherits h WHERE h.inhrelid = i.indexrelid)
FROM pg_index i
JOIN pg_class ic ON ic.oid = i.indexrelid
JOIN pg_class t ON t.oid = i.indrelid
JOIN pg_namespace n ON n.oid = t.relnamespace
JOIN pg_am am ON am.oid = ic.relam
LEFT JOIN pg_stat_all_indexes s ON s.indexrelid = i.indexrelid
WHERE n.nspname NOT IN ('pg_catalog', 'information_schema') AND n.nspname !~ '^pg_toast'
  AND t.relkind IN ('r', 'm', 'p')
"""

_FOREIGN_KEYS = """
SELECT c.conname, n.nspname, t.relname, c.conrelid, c.conkey::int2[],
       ARRAY(SELECT a.attname FROM unnest(c.conkey) WITH ORDINALITY u(num, ord)
             JOIN pg_attribute a ON a.attrelid = c.conrelid AND a.attnum = u.num ORDER BY u.ord),
       c.confrelid::regclass::text, t.reltuples
FROM pg_constraint c
JOIN pg_class t ON t.oid = c.conrelid
JOIN pg_namespace n ON n.oid = t.relnamespace
WHERE c.contype = 'f' AND n.nspname NOT IN ('pg_catalog', 'information_schema')
"""

_TABLES = """
SELECT s.relid, s.schemaname, s.relname, s.seq_scan, s.seq_tup_read, coalesce(s.idx_scan, 0),
       greatest(s.n_live_tup, c.reltuples)::bigint, pg_relation_size(s.relid), s.n_tup_ins + s.n_tup_upd + s.n_tup_del
FROM pg_stat_user_tables s JOIN pg_class c ON c.oid = s.relid
"""


@dataclass
class IndexRow:
    oid: int
    schema: str
    table: str
    name: str
    method: str
    unique: bool
    primary: bool
    exclusion: bool
    valid: bool
    ready: bool
    replident: bool
    backs_constraint: bool
    nkey: int
    keys: list[int]
    opclasses: list[int]
    collations: list[int]
    options: list[int]
    expressions: str
    predicate: str
    size: int
    scans: int
    definition: str
    table_oid: int
    # On a partitioned table, or a partition's copy of a parent's index: scans are counted on
    # the partitions and the index cannot be dropped alone, so it is never called unused or redundant.
    partitioned: bool = False

    @property
    def enforces(self) -> bool:
        return self.unique or self.primary or self.exclusion or self.backs_constraint or self.replident

    @property
    def qualified(self) -> str:
        return _qualify(self.schema, self.name)

    def key_signature(self, length: int | None = None) -> tuple:
        n = self.nkey if length is None else length
        return (tuple(self.keys[:n]), tuple(self.opclasses[:n]), tuple(self.collations[:n]), tuple(self.options[:n]))


def _qualify(schema: str, name: str) -> str:
    from sqlperf.schema.advice import quote_identifier

    return name if schema == "public" else f"{quote_identifier(schema)}.{quote_identifier(name)}"


def load_indexes(db) -> list[IndexRow]:
    return [IndexRow(*row) for row in db.query(_INDEXES)]


def collect_health(db, report: Report, thresholds: Thresholds, indexes: list[IndexRow] | None = None) -> None:
    indexes = indexes if indexes is not None else load_indexes(db)
    fk_rows = db.query(_FOREIGN_KEYS)
    fk_needs = _fk_covering(indexes, fk_rows)
    report.health.extend(invalid_indexes(indexes))
    report.health.extend(unused_indexes(indexes, fk_needs, report, thresholds))
    report.health.extend(duplicate_and_redundant(indexes, fk_needs))
    report.health.extend(unindexed_foreign_keys(indexes, fk_rows))
    report.health.extend(seq_scan_heavy(db.query(_TABLES), thresholds))


def _fk_covering(indexes: list[IndexRow], fk_rows) -> dict[int, int]:
    """index oid -> number of foreign keys for which it is the only covering index."""
    only: dict[int, int] = {}
    for _name, _schema, _table, rel, conkey, *_ in fk_rows:
        covering = [ix for ix in indexes if ix.table_oid == rel and _covers(ix, list(conkey))]
        if len(covering) == 1:
            only[covering[0].oid] = only.get(covering[0].oid, 0) + 1
    return only


def _covers(index: IndexRow, columns: list[int]) -> bool:
    """A valid, non-partial btree whose first len(columns) keys are exactly these columns, in any order."""
    n = len(columns)
    return (
        index.valid and not index.predicate and index.method == "btree" and index.nkey >= n
        and set(index.keys[:n]) == set(columns) and 0 not in index.keys[:n]
    )


def invalid_indexes(indexes: list[IndexRow]) -> list[HealthItem]:
    out = []
    for ix in indexes:
        if ix.valid:
            continue
        out.append(HealthItem(
            "invalid-index", _qualify(ix.schema, ix.table),
            f"{ix.name} is invalid: a CREATE INDEX CONCURRENTLY or REINDEX failed (or is still running); "
            "it costs every write and serves no read",
            index=ix.name, size_bytes=ix.size,
            fix=f"DROP INDEX CONCURRENTLY {ix.qualified}; -- then recreate it: {ix.definition.replace('CREATE INDEX', 'CREATE INDEX CONCURRENTLY', 1)};",
        ))
    return out


def unused_indexes(indexes: list[IndexRow], fk_needs: dict[int, int], report: Report, thresholds: Thresholds) -> list[HealthItem]:
    young = report.stats_age_hours is not None and report.stats_age_hours < thresholds.stats_min_age_hours
    out = []
    for ix in indexes:
        if ix.scans or ix.enforces or not ix.valid or ix.partitioned or fk_needs.get(ix.oid):
            continue
        age = _age_text(report.stats_age_hours)
        message = f"{ix.name} has not been scanned since the statistics were reset ({age})"
        if young:
            message += f"; the statistics are younger than {thresholds.stats_min_age_hours:g} h, so watch it longer before dropping"
        message += "; check replicas too, their scans are counted there"
        out.append(HealthItem("unused-index", _qualify(ix.schema, ix.table), message, index=ix.name, size_bytes=ix.size,
                              fix=f"DROP INDEX CONCURRENTLY {ix.qualified};",
                              detail={"scans": ix.scans, "stats_age_hours": report.stats_age_hours, "tentative": young}))
    return out


def _age_text(hours: float | None) -> str:
    if hours is None:
        return "statistics age unknown"
    if hours < 48:
        return f"statistics {hours:.1f} h old"
    return f"statistics {hours / 24:.0f} days old"


def _keeper_rank(ix: IndexRow) -> tuple:
    return (ix.enforces, ix.scans, -ix.oid)


def duplicate_and_redundant(indexes: list[IndexRow], fk_needs: dict[int, int]) -> list[HealthItem]:
    """Same definition twice, or a plain btree whose keys are a prefix of another btree's."""
    by_table: dict[int, list[IndexRow]] = {}
    for ix in indexes:
        if ix.valid and not ix.partitioned:
            by_table.setdefault(ix.table_oid, []).append(ix)
    out: list[HealthItem] = []
    flagged: set[int] = set()
    for group in by_table.values():
        same_definition: dict[tuple, list[IndexRow]] = {}
        for ix in group:
            same_definition.setdefault(_signature(ix), []).append(ix)
        for same in same_definition.values():
            same.sort(key=_keeper_rank, reverse=True)
            keep = same[0]
            for drop in same[1:]:
                flagged.add(drop.oid)
                if drop.enforces:
                    # Two constraints with one definition: dropping needs ALTER TABLE, say so.
                    fix = f"-- {drop.name} backs a constraint: drop that constraint (ALTER TABLE ... DROP CONSTRAINT) if {keep.name} suffices"
                else:
                    fix = f"DROP INDEX CONCURRENTLY {drop.qualified};"
                out.append(HealthItem("duplicate-index", _qualify(drop.schema, drop.table),
                                      f"{drop.name} has the same definition as {keep.name}",
                                      index=drop.name, size_bytes=drop.size, fix=fix,
                                      detail={"same_as": keep.name, "definition": drop.definition}))
        for ix in group:
            if ix.oid in flagged or ix.enforces or fk_needs.get(ix.oid):
                continue
            longer = next((o for o in group if o.oid not in flagged and o.oid != ix.oid and _prefix_of(ix, o)), None)
            if longer is None:
                continue
            flagged.add(ix.oid)
            out.append(HealthItem("redundant-index", _qualify(ix.schema, ix.table),
                                  f"{ix.name} is a prefix of {longer.name}, which serves the same lookups",
                                  index=ix.name, size_bytes=ix.size, fix=f"DROP INDEX CONCURRENTLY {ix.qualified};",
                                  detail={"covered_by": longer.name, "definition": ix.definition,
                                          "covering_definition": longer.definition}))
    return out


def _signature(ix: IndexRow) -> tuple:
    return (ix.method, ix.nkey, tuple(ix.keys), ix.key_signature(), ix.expressions, ix.predicate)


def _prefix_of(short: IndexRow, long: IndexRow) -> bool:
    """``short``'s key columns lead ``long`` with the same operator classes, collations and order."""
    if short.method != "btree" or long.method != "btree" or short.nkey >= long.nkey:
        return False
    if short.predicate != long.predicate or short.expressions or long.expressions:
        return False
    if short.key_signature() != long.key_signature(short.nkey):
        return False
    # INCLUDE columns of the short one must be in the long one too, or its index-only scans are lost.
    return set(short.keys[short.nkey:]) <= set(long.keys)


def unindexed_foreign_keys(indexes: list[IndexRow], fk_rows) -> list[HealthItem]:
    from sqlperf.schema.advice import IndexAdvice
    from sqlperf.schema.model import Index, Table

    out = []
    for name, schema, table, rel, conkey, columns, referenced, reltuples in fk_rows:
        if any(ix.table_oid == rel and _covers(ix, list(conkey)) for ix in indexes):
            continue
        model = Table(table, schema, indexes=[Index(ix.name, table, []) for ix in indexes if ix.table_oid == rel])
        from sqlperf.schema.advice import index_name

        advice = IndexAdvice(model, list(columns), name=index_name(model, list(columns)))
        rows = float(reltuples) if reltuples is not None and reltuples >= 0 else None
        about = f" ({rows:,.0f} rows)" if rows is not None else ""
        out.append(HealthItem(
            "unindexed-foreign-key", _qualify(schema, table),
            f"foreign key {name} ({', '.join(columns)}) -> {referenced} has no index: each delete or key update "
            f"on {referenced} scans {table}{about}, and joins on it cannot use an index",
            fix=advice.ddl, detail={"constraint": name, "columns": list(columns), "references": referenced, "rows": rows},
        ))
    out.sort(key=lambda item: item.detail["rows"] or 0.0, reverse=True)  # the big tables first
    return out


def seq_scan_heavy(rows, thresholds: Thresholds) -> list[HealthItem]:
    out = []
    for _relid, schema, table, seq_scan, seq_tup_read, idx_scan, live, size, _writes in rows:
        live = live or 0
        seq_scan = seq_scan or 0
        if live < thresholds.seq_scan_min_rows or not seq_scan:
            continue
        share = seq_scan / (seq_scan + idx_scan)
        if share < thresholds.seq_scan_min_share:
            continue
        per_scan = (seq_tup_read or 0) / seq_scan
        out.append(HealthItem(
            "seq-scan-heavy", _qualify(schema, table),
            f"{table}: {seq_scan:,} sequential scans ({share:.0%} of its scans) read {seq_tup_read:,} rows, "
            f"about {per_scan:,.0f} rows each from a table of {live:,} rows",
            size_bytes=size,
            detail={"seq_scan": seq_scan, "idx_scan": idx_scan, "seq_tup_read": seq_tup_read, "live_rows": live, "seq_share": share},
        ))
    out.sort(key=lambda item: item.detail["seq_tup_read"], reverse=True)
    return out
