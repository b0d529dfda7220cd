from sqlperf.rule import Applicability, Rule


class NPlusOne(Rule):
    """## What it does
    Flags one statement shape that a loop runs again and again from one call site with
    different parameters, in the SQL an application really sent (captured by the pytest
    plugin or `sqlperf.capture()`). When SQLAlchemy reports the statement as a relationship
    lazy load, the finding names the relationship (`Post.comments`); it also recognises
    deferred columns, expired objects refreshed one by one and `session.get()` in a loop.

    The repetitions must come from one running loop: the same function call, along the
    same lines. Two requests that run the same view, or a helper called from two different
    lines, are not a loop. Nor, in the pytest plugin, is a test's own loop that calls the
    application once per item (unless `--sqlperf-include-test-code`). The count must exceed
    `n_plus_one_threshold` (default 2).

    ## Why is this bad?
    Each row of the first query costs one more round trip to the database. With 3 rows in a
    test nobody notices; with 5,000 rows in production the page makes 5,001 queries, and the
    time grows with the data instead of staying flat.

    ## Example
    ```python
    posts = session.scalars(select(Post)).all()
    for post in posts:
        print(post.title, len(post.comments))  # one SELECT of comments per post
    ```

    ## Use instead
    Load the relationship with the query that loads the parents: `selectinload` for
    collections, `joinedload` for many-to-one, `undefer` for deferred columns, and
    `raiseload("*")` to make any new lazy load an error:
    ```python
    posts = session.scalars(
        select(Post).options(selectinload(Post.comments), raiseload("*"))
    ).all()
    ```
    ## Options
    - `n_plus_one_threshold` (default: 2): repetitions allowed; pytest `--sqlperf-n-plus-one-threshold`,
      ini `sqlperf_n_plus_one_threshold`, marker `n_plus_one_threshold=`, `sqlperf.capture(n_plus_one_threshold=)`.
    """

    code = "SP501"
    name = "n-plus-one"
    category = "runtime"
    static = False
    fix_applicability = Applicability.DISPLAY
