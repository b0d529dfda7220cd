from sqlglot import exp

from sqlperf.rule import Applicability, Rule


class UnboundedWrite(Rule):
    """## What it does
    Flags an `UPDATE` or `DELETE` without a `WHERE` clause.

    ## Why is this bad?
    The statement rewrites or removes every row of the table in one transaction: it locks all
    of them, writes a new version of each row (and of each index entry) to the WAL, leaves the
    table full of dead rows for VACUUM, and blocks or slows every other writer until it commits.
    Often it is also a mistake: a forgotten or lost WHERE clause.

    A MySQL `DELETE ... LIMIT n` and a multi-table `UPDATE t JOIN u ON ...` are bounded by
    their limit or join and are not reported.

    ## Example
    ```sql
    UPDATE accounts SET balance = 0;
    ```

    ## Use instead
    ```sql
    UPDATE accounts SET balance = 0 WHERE closed_at IS NOT NULL;
    ```
    If every row really must change, say so and do it in batches (`WHERE id BETWEEN ...`),
    or use `TRUNCATE` to empty a table.
    """

    code = "SP408"
    name = "unbounded-write"
    category = "shape"
    node_types = (exp.Update, exp.Delete)
    fix_applicability = Applicability.DISPLAY

    def visit(self, node, ctx):
        if node.args.get("where") is not None or node.args.get("limit") is not None:
            return None
        if isinstance(node.parent, exp.When):
            return None  # MERGE ... WHEN MATCHED THEN UPDATE: bounded by the merge condition
        target = node.this
        if not isinstance(target, exp.Table):
            return None
        if any(join.args.get("on") is not None or join.args.get("using") for join in target.args.get("joins") or []):
            return None  # MySQL multi-table write: the join decides which rows change
        verb = "UPDATE" if isinstance(node, exp.Update) else "DELETE"
        if verb == "UPDATE":
            effect = "rewrites every row of {0} in one transaction, locking them all and writing a new version of each row"
        else:
            effect = "deletes every row of {0} in one transaction, locking them all and leaving each one for VACUUM"
        message = f"{verb} without WHERE {effect.format(target.name)}."
        help_text = "add the WHERE clause that selects the rows to change, batch a deliberate full-table change, or TRUNCATE"
        return [ctx.finding(self, target, message, help_text, data={"table": target.name})]
