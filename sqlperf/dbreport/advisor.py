"""Section 2: index advice for the whole workload.

Candidates come from the equality, range, join and ORDER BY columns of the top queries
(:mod:`sqlperf.schema.usage`, the same analysis the index rules use, and
:func:`sqlperf.schema.advice.suggest_index`, so a query gets the same DDL from every door).
Each candidate is planned against every top query that reads its table, with the index
made visible by HypoPG (or, only where allowed, really built in a rolled-back transaction).
A greedy pass then picks the index that saves the most weighted time (calls x mean time x
the share of the plan cost it removes), credits it with the queries it serves, and repeats:
one composite that serves several queries beats several single-column ones, and an index
that adds nothing once a better one is chosen is dropped.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from sqlperf.dbreport.model import IndexSuggestion, QueryGain, QueryStat, Thresholds

HYPOPG_HOWTO = (
    "install HypoPG to verify index advice without building anything: Debian/Ubuntu "
    "apt install postgresql-<major>-hypopg (RHEL: dnf install hypopg_<major>; RDS, Cloud SQL and Azure ship it), "
    "then CREATE EXTENSION hypopg; in this database"
)


@dataclass
class Candidate:
    advice: object  # sqlperf.schema.advice.IndexAdvice
    key: tuple
    sources: set[int] = field(default_factory=set)  # queryids whose shape produced it
    costs: dict[int, float] = field(default_factory=dict)  # queryid -> plan cost with this index

    @property
    def table(self):
        return self.advice.table


class _Context:
    """The two things :func:`sqlperf.schema.usage.query_usage` needs from a rule context."""

    def __init__(self, tree, schema) -> None:
        from sqlglot.optimizer.scope import traverse_scope

        self.schema = schema
        try:
            scopes = traverse_scope(tree)
        except Exception:  # noqa: BLE001 - scope building is best-effort
            scopes = []
        self._by_expression = {id(scope.expression): scope for scope in scopes}

    def scope_of(self, node):
        while node is not None:
            scope = self._by_expression.get(id(node))
            if scope is not None:
                return scope
            node = node.parent
        return None


def query_candidates(query: str, schema) -> tuple[list, set]:
    """(IndexAdvice list, tables read) for one normalised query; empty when it cannot be analysed."""
    import sqlglot
    from sqlglot import exp

    from sqlperf.schema.advice import suggest_index
    from sqlperf.schema.usage import query_usage, sort_columns_for

    try:
        tree = sqlglot.parse_one(query, read="postgres")
    except Exception:  # noqa: BLE001 - a truncated or exotic text gets no advice, never a crash
        return [], set()
    if tree is None:
        return [], set()
    ctx = _Context(tree, schema)
    found, tables = [], set()
    for select in tree.find_all(exp.Select):
        usage = query_usage(ctx, select)
        if usage is None:
            continue
        for alias, table in usage.tables.items():
            tables.add(table.qualified_name)
            equality = _unique([f.column for f in usage.filters_on(alias, ("eq",))])
            in_list = _unique([f.column for f in usage.filters_on(alias, ("in",))])
            ranges = _unique([f.column for f in usage.filters_on(alias, ("range",))])
            order = sort_columns_for(usage, alias) if usage.has_limit else []
            joins = _unique([key.left.name if key.left_alias == alias else key.right.name
                             for key in usage.joins if alias in (key.left_alias, key.right_alias)])
            options = [
                dict(equality=equality + in_list, range=ranges, order=order),
                dict(equality=equality, order=order),
                dict(equality=equality + in_list),
            ]
            options += [dict(equality=[column] + equality) for column in joins]
            options += [dict(expressions=[expression]) for expression in usage.expression_filters.get(alias, ())]
            for kwargs in options:
                if not any(kwargs.get(k) for k in ("equality", "range", "order", "expressions")):
                    continue
                advice = suggest_index(table, conjuncts=usage.conjuncts, **kwargs)
                if advice is not None:
                    found.append(advice)
    return found, tables


def _unique(items: list[str]) -> list[str]:
    seen, out = set(), []
    for item in items:
        if item.lower() not in seen:
            seen.add(item.lower())
            out.append(item)
    return out


def _key(advice) -> tuple:
    return (advice.table.qualified_name.lower(), tuple(c.lower() for c in advice.columns), tuple(advice.descending), tuple(advice.expressions))


def collect_candidates(queries: list[QueryStat], schema) -> tuple[dict[tuple, Candidate], dict[int, set]]:
    candidates: dict[tuple, Candidate] = {}
    reads: dict[int, set] = {}
    for stat in queries:
        found, tables = query_candidates(stat.query, schema)
        reads[stat.queryid] = tables
        for advice in found:
            key = _key(advice)
            candidates.setdefault(key, Candidate(advice, key)).sources.add(stat.queryid)
    return candidates, reads


def advise(
    db,
    queries: list[QueryStat],
    schema,
    thresholds: Thresholds,
    *,
    method: str,
    writes_per_hour: dict[str, float | None],
    progress=None,
) -> list[IndexSuggestion]:
    """Index suggestions for the workload; ``method`` is "hypopg", "build" or "none"."""
    candidates, reads = collect_candidates(queries, schema)
    if not candidates:
        return []
    by_id = {q.queryid: q for q in queries}
    if method == "none":
        return _unverified(candidates, by_id, writes_per_hour, thresholds)
    from sqlperf.verify.pg import DatabaseError

    if progress:
        progress.start("advice", len(candidates))
    for candidate in candidates.values():
        table = candidate.table.qualified_name
        for stat in queries:
            if stat.plan_cost is None or table not in reads.get(stat.queryid, ()):
                continue
            try:
                if method == "hypopg":
                    plan = db.explain(stat.query, hypothetical=[candidate.advice.ddl])
                else:
                    plan = db.explain(stat.query, build_indexes=[candidate.advice.ddl])
            except DatabaseError:
                continue
            if any(_is_candidate_index(node.index_name, candidate) for node in plan.nodes()):
                candidate.costs[stat.queryid] = plan.total_cost
        if progress:
            progress.advance("advice")
    return _choose(candidates, by_id, thresholds, method, writes_per_hour)


def _is_candidate_index(name: str | None, candidate: Candidate) -> bool:
    # HypoPG names its indexes "<oid>btree_table_cols"; a rolled-back build keeps our name.
    return bool(name) and (name.startswith("<") or name == candidate.advice.name)


def _choose(candidates, by_id, thresholds: Thresholds, method: str, writes_per_hour) -> list[IndexSuggestion]:
    before = {qid: by_id[qid].plan_cost for qid in by_id if by_id[qid].plan_cost}
    best = dict(before)  # the lowest cost reached so far by the chosen indexes
    keep = 1.0 - thresholds.min_cost_reduction
    chosen: list[IndexSuggestion] = []
    remaining = [c for c in candidates.values() if c.costs]
    while remaining and len(chosen) < thresholds.max_advice:
        scored = []
        for candidate in remaining:
            helped = {qid: cost for qid, cost in candidate.costs.items()
                      if qid in best and cost <= keep * best[qid]}
            benefit = sum(by_id[qid].total_ms * (best[qid] - cost) / before[qid] for qid, cost in helped.items())
            if helped:
                # Ties (a prefix and its composite) go to the index serving more queries, then the narrower one.
                scored.append((benefit, len(helped), -len(candidate.advice.columns), candidate, helped))
        if not scored:
            break
        scored.sort(key=lambda item: item[:3], reverse=True)
        _, _, _, winner, helped = scored[0]
        gains = []
        for qid, cost in sorted(helped.items(), key=lambda item: by_id[item[0]].total_ms, reverse=True):
            stat = by_id[qid]
            gains.append(QueryGain(qid, stat.query, before[qid], cost, stat.total_ms,
                                   stat.total_ms * max(0.0, 1.0 - cost / before[qid])))
            best[qid] = cost
        chosen.append(_suggestion(winner, "verified", method, gains, writes_per_hour))
        remaining = [c for c in remaining if c is not winner]
    chosen.sort(key=lambda s: s.saving_ms, reverse=True)
    return chosen


def _suggestion(candidate: Candidate, status: str, method: str, gains: list[QueryGain], writes_per_hour) -> IndexSuggestion:
    table = candidate.table
    how = {"hypopg": "HypoPG what-if index", "build": "index built in a rolled-back transaction",
           "none": "not verified: " + HYPOPG_HOWTO}[method]
    return IndexSuggestion(
        table=table.qualified_name,
        columns=list(candidate.advice.columns),
        ddl=candidate.advice.ddl,
        status=status,
        method=method,
        gains=gains,
        writes_per_hour=writes_per_hour.get(table.qualified_name),
        table_rows=table.row_estimate,
        reason=how,
    )


def _unverified(candidates: dict[tuple, Candidate], by_id, writes_per_hour, thresholds: Thresholds) -> list[IndexSuggestion]:
    """Without a what-if backend: only for queries whose plan scans the table sequentially,
    and an index whose plain columns lead a longer candidate's is folded into that one."""
    useful = []
    for candidate in candidates.values():
        name = candidate.table.name.lower()
        sources = {qid for qid in candidate.sources if name in (r.lower() for r in by_id[qid].seq_scans)}
        if sources:
            candidate.sources = sources
            useful.append(candidate)
    folded: list[Candidate] = []
    for candidate in sorted(useful, key=lambda c: len(c.advice.columns), reverse=True):
        host = next((other for other in folded if _folds_into(candidate, other)), None)
        if host is not None:
            host.sources |= candidate.sources
        else:
            folded.append(candidate)
    out = []
    for candidate in folded:
        gains = [QueryGain(qid, by_id[qid].query, by_id[qid].plan_cost, None, by_id[qid].total_ms) for qid in candidate.sources]
        gains.sort(key=lambda g: g.total_ms, reverse=True)
        out.append(_suggestion(candidate, "unverified", "none", gains, writes_per_hour))
    out.sort(key=lambda s: sum(g.total_ms for g in s.gains), reverse=True)
    return out[: thresholds.max_advice]


def _folds_into(short: Candidate, long: Candidate) -> bool:
    a, b = short.advice, long.advice
    if a.table is not b.table or len(a.columns) > len(b.columns) or any(a.expressions) != any(b.expressions):
        return False
    return [c.lower() for c in a.columns] == [c.lower() for c in b.columns[: len(a.columns)]]
