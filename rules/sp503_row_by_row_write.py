from sqlperf.rule import Applicability, Rule


class RowByRowWrite(Rule):
    """## What it does
    Flags an INSERT, UPDATE or DELETE sent one row at a time from one call site inside a
    loop, in the SQL an application really sent. `executemany` and SQLAlchemy's own batching
    of one flush are the bulk form and are never reported.

    ## Why is this bad?
    Every row pays a full round trip, and `flush()` per row also runs the unit of work each
    time. Writing 1,000 rows this way is typically tens of times slower than one batched
    statement.

    ## Example
    ```python
    for text in texts:
        session.add(Comment(post_id=post.id, text=text))
        session.flush()
    ```

    ## Use instead
    Add everything, then flush once (SQLAlchemy sends one batched INSERT), or use a bulk
    statement with a list of rows:
    ```python
    session.add_all([Comment(post_id=post.id, text=text) for text in texts])
    session.flush()
    # or: session.execute(insert(Comment), [{"post_id": post.id, "text": t} for t in texts])
    ```
    ## Options
    - `row_by_row_threshold` (default: 2): single-row writes allowed from one loop; pytest
      `--sqlperf-row-by-row-threshold`, ini `sqlperf_row_by_row_threshold`, `sqlperf.capture(row_by_row_threshold=)`.
    """

    code = "SP503"
    name = "row-by-row-write"
    category = "runtime"
    static = False
    fix_applicability = Applicability.DISPLAY
