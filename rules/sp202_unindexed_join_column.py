from __future__ import annotations

from sqlglot import exp

from sqlperf.rule import Applicability, Fix, Rule


class UnindexedJoinColumn(Rule):
    """## What it does
    Flags a join whose key on the "many" side (the side whose join column is not unique, when
    the other side's is) leads no index. Needs the schema.

    ## Why is this bad?
    To join users to their orders with a nested loop, PostgreSQL looks up `orders.user_id`
    once per user. Without an index on it, every lookup is a scan, so the planner falls back
    to hashing the whole `orders` table on every execution. Foreign key columns are not
    indexed automatically in PostgreSQL.

    The join stays quiet when the many side is already narrowed by an indexed filter of its
    own (the plan drives from it), when its join key is also compared with a constant (SP201
    reports that filter, with the same index), when both or neither side is unique (no clear
    many side), and when the many side's row estimate is below the `min_rows` option (default 1000).

    ## Example
    ```sql
    -- schema: CREATE TABLE users (id bigint PRIMARY KEY, email text); CREATE TABLE orders (id bigint PRIMARY KEY, user_id bigint, total numeric);
    SELECT u.email, o.total FROM users u JOIN orders o ON o.user_id = u.id WHERE u.id = 7;
    ```

    ## Use instead
    ```sql
    CREATE INDEX CONCURRENTLY orders_user_id_idx ON orders (user_id);
    ```
    With that index in the schema the same join is quiet:
    ```sql
    -- schema: CREATE TABLE users (id bigint PRIMARY KEY, email text); CREATE TABLE orders (id bigint PRIMARY KEY, user_id bigint, total numeric); CREATE INDEX orders_user_id_idx ON orders (user_id);
    SELECT u.email, o.total FROM users u JOIN orders o ON o.user_id = u.id WHERE u.id = 7;
    ```
    """

    code = "SP202"
    name = "unindexed-join-column"
    category = "index"
    node_types = (exp.Select,)
    needs_schema = True
    fix_applicability = Applicability.DISPLAY
    options = {"min_rows": 1000}

    def visit(self, node, ctx):
        from sqlperf.schema.advice import suggest_index
        from sqlperf.schema.usage import leads_usable_index, query_usage, small_table

        usage = query_usage(ctx, node)
        if usage is None or not usage.joins:
            return None
        # Group the key pairs by the two tables they link: a composite key joins as one.
        pairs: dict[tuple[str, str], list[tuple[exp.Column, exp.Column]]] = {}
        for key in usage.joins:
            if key.left_alias <= key.right_alias:
                pairs.setdefault((key.left_alias, key.right_alias), []).append((key.left, key.right))
            else:
                pairs.setdefault((key.right_alias, key.left_alias), []).append((key.right, key.left))
        findings = []
        reported: set[str] = set()
        for (a, b), columns in pairs.items():
            a_cols, b_cols = [c for c, _ in columns], [c for _, c in columns]
            a_unique = _is_unique(usage.tables[a], a_cols)
            b_unique = _is_unique(usage.tables[b], b_cols)
            if a_unique == b_unique:
                continue
            many, many_cols = (b, b_cols) if a_unique else (a, a_cols)
            table = usage.tables[many]
            if many in reported or small_table(table, self.opts["min_rows"]):
                continue
            if _leads_any(table, many_cols, usage.conjuncts) or leads_usable_index(table, usage, many):
                continue
            if {c.name.lower() for c in many_cols} <= {f.column.lower() for f in usage.filters_on(many, ("eq",))}:
                continue  # the key is also compared with a constant: SP201 reports it, with the same index
            advice = suggest_index(table, equality=[c.name for c in many_cols], conjuncts=usage.conjuncts)
            if advice is None:
                continue
            reported.add(many)
            one = a if many == b else b
            message = (
                f"join key {table.name}.{many_cols[0].name} (the many side of the join with "
                f"{usage.tables[one].name}) leads no index: each joined row costs a scan of {table.name}."
            )
            findings.append(
                ctx.finding(
                    self,
                    many_cols[0],
                    message,
                    help=f"index the join key: {advice.ddl}",
                    fix=Fix(Applicability.DISPLAY, replacement=advice.ddl, message="create the index"),
                    data={"table": table.qualified_name, "columns": advice.columns, "ddl": advice.ddl},
                )
            )
        return findings


def _is_unique(table, columns) -> bool:
    from sqlperf.schema.model import fold

    return table.pins_one_row({fold(c.name) for c in columns})


def _leads_any(table, columns, conjuncts) -> bool:
    from sqlperf.schema.advice import index_usable
    from sqlperf.schema.model import fold

    names = {fold(c.name) for c in columns}
    return any(
        ix.columns and not ix.is_expression(0) and fold(ix.columns[0]) in names and index_usable(ix, conjuncts)
        for ix in table.all_indexes()
    )
