from sqlperf.rule import Applicability, Rule


class DuplicateQuery(Rule):
    """## What it does
    Flags the same statement with the same parameters sent more than once inside one
    operation (one call of a function: a view, a request handler, a test), with no write in
    between, in the SQL an application really sent.

    Reading a row again after an INSERT, UPDATE or DELETE is not reported: the answer may
    have changed. Two separate requests that read the same row are not reported either.

    ## Why is this bad?
    The second round trip returns what the first one already returned. It usually means two
    layers of the code load the same thing independently (the view and a helper both fetch
    the current user), and it multiplies under load.

    ## Example
    ```python
    user = session.scalars(select(User).where(User.id == user_id)).one()
    ...
    owner = session.scalars(select(User).where(User.id == user_id)).one()
    ```

    ## Use instead
    Load it once and pass it along (or use `session.get`, which answers from the identity map):
    ```python
    user = session.get(User, user_id)
    owner = user
    ```
    ## Options
    - `duplicate_threshold` (default: 1): identical executions allowed; pytest
      `--sqlperf-duplicate-threshold`, ini `sqlperf_duplicate_threshold`, `sqlperf.capture(duplicate_threshold=)`.
    """

    code = "SP502"
    name = "duplicate-query"
    category = "runtime"
    static = False
    fix_applicability = Applicability.DISPLAY
