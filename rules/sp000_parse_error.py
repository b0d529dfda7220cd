from sqlperf.rule import Rule, Severity


class ParseError(Rule):
    """## What it does
    Reports a statement that cannot be parsed in the configured dialect, at its location.

    ## Why is this bad?
    A statement sqlperf cannot parse is a statement no other rule can check. Usually the
    dialect is wrong (``--dialect mysql`` for backtick-quoted names), or the SQL has a typo
    the database would reject too. The other statements of the file are still checked.

    ## Example
    ```sql
    SELECT * FROM orders WHERE;
    ```

    ## Use instead
    ```sql
    SELECT id FROM orders WHERE id = 1;
    ```
    """

    code = "SP000"
    name = "parse-error"
    category = "syntax"
    severity = Severity.ERROR
