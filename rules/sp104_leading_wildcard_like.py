from sqlglot import exp

from sqlperf.analysis import index_name, own_columns
from sqlperf.rule import Applicability, Fix, Rule


class LeadingWildcardLike(Rule):
    """## What it does
    Flags `LIKE` and `ILIKE` with a literal pattern that starts with a wildcard (`%` or `_`),
    such as `name LIKE '%smith'`.

    ## Why is this bad?
    A B-tree index can only find strings by their beginning. With the beginning unknown, the
    planner reads every row and matches the pattern against each one; on a large table that
    is a full scan on every search.

    A pattern that is a parameter, a pattern with a fixed prefix (`'smith%'`), `NOT LIKE`
    and the match-everything pattern `'%'` are not reported.

    ## Example
    ```sql
    SELECT id FROM customers WHERE name LIKE '%smith%';
    ```

    ## Use instead
    Search with a fixed prefix where the product allows it:
    ```sql
    SELECT id FROM customers WHERE name LIKE 'smith%';
    ```
    Otherwise keep the query and give it an index that understands substrings: on PostgreSQL
    a trigram index (`CREATE EXTENSION pg_trgm; CREATE INDEX CONCURRENTLY customers_name_trgm_idx
    ON customers USING gin (name gin_trgm_ops);`), on MySQL a FULLTEXT index with MATCH ... AGAINST.
    """

    code = "SP104"
    name = "leading-wildcard-like"
    category = "sargability"
    node_types = (exp.Like, exp.ILike)
    fix_applicability = Applicability.DISPLAY

    def visit(self, node, ctx):
        if ctx.predicate_clause(node) is None or node.args.get("negate") or isinstance(node.parent, exp.Not):
            return None
        pattern = node.expression
        if isinstance(pattern, exp.Escape):
            return None  # custom ESCAPE: a leading character may be a literal wildcard
        if not isinstance(pattern, exp.Literal) or not pattern.is_string:
            return None
        text = pattern.this
        if not text or text[0] not in "%_" or set(text) <= {"%"}:
            return None
        columns = own_columns(node.this)
        if not columns:
            return None
        resolved = ctx.resolve_column(columns[0])
        if resolved.derived:
            return None  # a CTE or derived table's column has no index to lose
        operator = "ILIKE" if isinstance(node, exp.ILike) else "LIKE"
        message = (
            f"{operator} pattern '{text}' starts with a wildcard, so an index on {resolved.label} cannot "
            "narrow the search and every row is matched."
        )
        fix = None
        help_text = "anchor the pattern with a fixed prefix, or use a trigram (pg_trgm) or full-text index"
        if resolved.table_name and ctx.dialect in ("postgres", "postgresql", "redshift"):
            column = ctx.text(node.this)
            ddl = (
                "CREATE EXTENSION IF NOT EXISTS pg_trgm; "
                f"CREATE INDEX CONCURRENTLY {index_name(resolved.table_name, [columns[0].name], 'trgm_idx')} "
                f"ON {resolved.table_name} USING gin ({column} gin_trgm_ops);"
            )
            fix = Fix(Applicability.DISPLAY, replacement=ddl, message="a trigram index serves any substring search")
            help_text += f": {ddl}"
        elif ctx.dialect == "mysql" and resolved.table_name:
            help_text = f"use a FULLTEXT index on {resolved.label} with MATCH ... AGAINST, or anchor the pattern"
        return [ctx.finding(self, node, message, help_text, fix, data={"table": resolved.table_name, "column": columns[0].name})]
