"""Fuzzing the check pipeline (library door): generated SQL and byte-level mutations of real queries.

Whatever the text, linting it with every rule must not raise, must not crash a rule (a rule's
exception is caught by the engine and becomes an error line: still a bug), must put every finding
and every edit inside the file, and every safe fix must re-parse, be idempotent and not make its
own rule fire again at the place it fixed. The budget is small here (hypothesis ``max_examples``);
``bench/fuzz_long.py`` runs the same checks for longer and its figures are in bench/README.md.

The strategies and :func:`check_text` are shared with ``bench/fuzz_long.py``.
"""

from __future__ import annotations

import random
from functools import lru_cache
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from sqlperf.config import Settings
from sqlperf.engine import Linter
from sqlperf.fix import apply_round, fix_text, fixable
from sqlperf.rule import Applicability, Finding
from sqlperf.source import SourceError, SourceFile

ROOT = Path(__file__).resolve().parent.parent
CORPORA = ROOT.parent / "shared" / "corpora"
MIGRATIONS = ROOT / "fixtures" / "schema" / "migrations"

# Dialects a user is likely to name; the schema rules see the same schema in each.
DIALECTS = ("postgres", "mysql", "sqlite", "bigquery", "snowflake", "tsql", "duckdb")

# -- the grammar -------------------------------------------------------------------------------------
# Tables and columns of fixtures/schema/migrations, so the schema rules have something to judge,
# plus one name the schema does not know.
TABLES = {
    "orders": ("id", "user_id", "status", "total", "created_at", "shipped_at"),
    "users": ("id", "org_id", "email", "full_name", "created_at", "last_login_at"),
    "products": ("id", "sku", "name", "price", "discontinued"),
    "order_items": ("order_id", "product_id", "quantity", "unit_price"),
    "orgs": ("id", "name", "slug", "created_at"),
    "ghost": ("id", "payload", "ts"),
}

_ident = st.sampled_from(sorted({c for cols in TABLES.values() for c in cols}))
_table = st.sampled_from(sorted(TABLES))
_alias = st.sampled_from(("", "t", "o", "u", "x1", '"Q"'))


def _column():
    plain = _ident
    qualified = st.builds(lambda a, c: f"{a}.{c}", st.sampled_from(("t", "o", "u", "orders", "users")), _ident)
    quoted = _ident.map(lambda c: f'"{c}"')
    return st.one_of(plain, plain, qualified, quoted)


_string_body = st.one_of(
    st.sampled_from(("x", "%abc", "abc%", "%a%", "_b", "it''s", "2024-01-05", "a;b", "-- no", "/* c */", "$1", "\\", "ü€😀", "")),
    st.text(alphabet=st.characters(blacklist_categories=("Cs",), blacklist_characters="'\x00"), max_size=12),
)
_string = _string_body.map(lambda s: f"'{s}'")
_number = st.one_of(
    st.integers(-5, 2_000_000).map(str),
    st.sampled_from(("0.5", "1e3", "-0", "99999999999999999999", "1.2")),
)
_param = st.sampled_from(("$1", "$2", ":p", ":name", "%s", "?", "%(id)s"))
_literal = st.one_of(_number, _string, st.sampled_from(("NULL", "TRUE", "FALSE", "now()", "CURRENT_DATE",
                                                          "DATE '2024-01-01'", "interval '1 day'")), _param)
_type = st.sampled_from(("int", "bigint", "text", "varchar(10)", "date", "timestamp", "numeric(10,2)", "boolean", "jsonb"))

_FUNCS1 = ("lower", "upper", "trim", "length", "abs", "YEAR", "DATE", "md5", "coalesce", "ifnull", "nvl")


def _expr(column, literal):
    """A value expression over columns and literals, a few levels deep."""

    def extend(inner):
        return st.one_of(
            st.builds(lambda f, a: f"{f}({a})", st.sampled_from(_FUNCS1), inner),
            st.builds(lambda a, b: f"coalesce({a}, {b})", inner, literal),
            st.builds(lambda u, a: f"date_trunc('{u}', {a})", st.sampled_from(("day", "month", "year")), inner),
            st.builds(lambda u, a: f"extract({u} from {a})", st.sampled_from(("year", "month", "epoch")), inner),
            st.builds(lambda a, n: f"substring({a}, 1, {n})", inner, st.integers(0, 9)),
            st.builds(lambda a, n: f"left({a}, {n})", inner, st.integers(0, 9)),
            st.builds(lambda a, t: f"CAST({a} AS {t})", inner, _type),
            st.builds(lambda a, t: f"{a}::{t}", inner, _type),
            st.builds(lambda a, op, b: f"{a} {op} {b}", inner, st.sampled_from(("+", "-", "*", "/", "||")), st.one_of(inner, literal)),
            st.builds(lambda a, k: f"{a}->>'{k}'", inner, st.sampled_from(("k", "a b", ""))),
            st.builds(lambda a: f"({a})", inner),
        )

    return st.recursive(st.one_of(column, column, literal), extend, max_leaves=4)


def _predicate(expr, subquery):
    comparison = st.builds(lambda a, op, b: f"{a} {op} {b}", expr, st.sampled_from(("=", "<>", "!=", "<", ">=", "IS", "IS NOT")), st.one_of(expr, _literal))
    like = st.builds(
        lambda a, neg, op, s: f"{a} {neg}{op} {s}",
        expr, st.sampled_from(("", "NOT ")), st.sampled_from(("LIKE", "ILIKE")), _string,
    )
    in_list = st.builds(
        lambda a, neg, items: f"{a} {neg}IN ({', '.join(items)})",
        expr, st.sampled_from(("", "NOT ")), st.lists(_literal, min_size=1, max_size=6),
    )
    in_sub = st.builds(lambda a, neg, q: f"{a} {neg}IN ({q})", expr, st.sampled_from(("", "NOT ")), subquery)
    exists = st.builds(lambda neg, q: f"{neg}EXISTS ({q})", st.sampled_from(("", "NOT ")), subquery)
    between = st.builds(lambda a, b, c: f"{a} BETWEEN {b} AND {c}", expr, _literal, _literal)
    null = st.builds(lambda a, n: f"{a} IS {n}NULL", expr, st.sampled_from(("", "NOT ")))
    optional = st.builds(lambda p, c: f"({p} IS NULL OR {c} = {p})", _param, _column())
    count = st.builds(lambda q: f"({q}) > 0", subquery.map(lambda q: q.replace("SELECT ", "SELECT count(*), ", 1)))
    atom = st.one_of(comparison, comparison, like, in_list, in_sub, exists, between, null, optional, count)
    return st.recursive(
        atom,
        lambda inner: st.one_of(
            st.builds(lambda a, op, b: f"{a} {op} {b}", inner, st.sampled_from(("AND", "OR")), inner),
            st.builds(lambda a: f"NOT ({a})", inner),
            st.builds(lambda a: f"({a})", inner),
        ),
        max_leaves=3,
    )


_simple_subquery = st.builds(
    lambda c, t, w: f"SELECT {c} FROM {t}" + (f" WHERE {w}" if w else ""),
    _ident, _table, st.one_of(st.just(""), st.builds(lambda a, b: f"{a} = {b}", _column(), _literal)),
)
EXPR = _expr(_column(), _literal)
PREDICATE = _predicate(EXPR, _simple_subquery)


def _from_clause():
    table = st.builds(lambda t, a: f"{t} {a}".rstrip(), _table, _alias)
    join = st.builds(
        lambda kind, t, on: f" {kind} {t} ON {on}",
        st.sampled_from(("JOIN", "LEFT JOIN", "INNER JOIN", "RIGHT JOIN", "FULL OUTER JOIN")), table, PREDICATE,
    )
    comma = table.map(lambda t: f", {t}")
    derived = st.builds(lambda q, a: f"({q}) AS {a or 'd'}", _simple_subquery, _alias)
    return st.builds(lambda first, rest: first + "".join(rest), st.one_of(table, table, derived), st.lists(st.one_of(join, comma), max_size=2))


_select_item = st.one_of(
    st.just("*"), st.just("t.*"), _column(), EXPR, st.just("count(*)"), st.just("DISTINCT id"),
    st.builds(lambda q: f"({q}) AS s", _simple_subquery),
    st.builds(lambda c: f"(SELECT max(x.id) FROM orders x WHERE x.user_id = {c}) AS m", _column()),
    st.builds(lambda a, b: f"{a} AS {b}", EXPR, _ident),
)


def _select():
    core = st.builds(
        lambda distinct, items, frm, where, group, having, order, limit, offset, fetch: (
            f"SELECT {distinct}{', '.join(items)} FROM {frm}"
            + (f" WHERE {where}" if where else "")
            + (f" GROUP BY {group}" if group else "")
            + (f" HAVING {having}" if having and group else "")
            + (f" ORDER BY {order}" if order else "")
            + (f" LIMIT {limit}" if limit is not None else "")
            + (f" OFFSET {offset}" if offset is not None else "")
            + (" FETCH FIRST 5 ROWS ONLY" if fetch and limit is None else "")
        ),
        st.sampled_from(("", "", "DISTINCT ")),
        st.lists(_select_item, min_size=1, max_size=3),
        _from_clause(),
        st.one_of(st.just(""), PREDICATE),
        st.one_of(st.just(""), _column()),
        st.one_of(st.just(""), PREDICATE, st.just("count(*) > 0"), st.just("sum(total) > 10")),
        st.one_of(st.just(""), _column(), st.sampled_from(("random()", "RAND()", "NEWID()", "1", "created_at DESC NULLS LAST"))),
        st.one_of(st.none(), st.integers(0, 10**7), st.just("ALL")),
        st.one_of(st.none(), st.integers(0, 10**7), _param),
        st.booleans(),
    )
    with_set = st.builds(lambda a, op, b: f"{a} {op} {b}", core, st.sampled_from(("UNION", "UNION ALL", "INTERSECT", "EXCEPT")), core)
    with_cte = st.builds(lambda q, body: f"WITH c AS ({q}) {body}", _simple_subquery, core)
    return st.one_of(core, core, core, with_set, with_cte)


def _update():
    return st.builds(
        lambda t, sets, where: f"UPDATE {t} SET {', '.join(sets)}" + (f" WHERE {where}" if where else ""),
        _table, st.lists(st.builds(lambda c, v: f"{c} = {v}", _ident, st.one_of(EXPR, _literal)), min_size=1, max_size=3),
        st.one_of(st.just(""), PREDICATE),
    )


def _delete():
    return st.builds(lambda t, where: f"DELETE FROM {t}" + (f" WHERE {where}" if where else ""), _table, st.one_of(st.just(""), PREDICATE))


def _insert():
    values = st.lists(st.lists(_literal, min_size=1, max_size=4).map(lambda r: f"({', '.join(r)})"), min_size=1, max_size=3)
    return st.builds(
        lambda t, cols, body: f"INSERT INTO {t}" + (f" ({', '.join(cols)})" if cols else "") + f" {body}",
        _table,
        st.lists(_ident, max_size=3, unique=True),
        st.one_of(values.map(lambda rows: "VALUES " + ", ".join(rows)), _simple_subquery),
    )


_statement = st.one_of(_select(), _select(), _update(), _delete(), _insert())
_comment = st.sampled_from(("-- a comment\n", "/* block */ ", "-- noqa\n", "-- noqa: SP301\n", "/* nested /* */ ", "-- sqlperf: noqa\n", ""))
_space = st.sampled_from((" ", "\n", "\t", "  \r\n", "\n\n"))


@st.composite
def sql_files(draw) -> str:
    """A file of 1-4 generated statements with comments and odd whitespace between and inside them."""
    parts = []
    for statement in draw(st.lists(_statement, min_size=1, max_size=4)):
        words = statement.split(" ")
        # Comments and whitespace between tokens; never inside a quoted string (there they are text).
        out, in_string = [], False
        for word in words:
            out.append(word)
            in_string ^= word.count("'") % 2 == 1
            if not in_string and draw(st.integers(0, 9)) == 0:
                out.append(draw(_comment) + draw(_space).strip(" "))
        parts.append(draw(_comment) + " ".join(out).replace(" \n", "\n"))
    terminator = draw(st.sampled_from((";\n", ";", "\n;\n", " ; ")))
    return terminator.join(parts) + draw(st.sampled_from(("", ";", ";\n", "\n", ";;")))


# -- byte-level mutations of real queries ------------------------------------------------------------
def real_queries() -> list[bytes]:
    """The project's own sample queries and DDL, and the TPC corpora when they are beside the checkout."""
    files = sorted((ROOT / "fixtures").rglob("*.sql"))
    if CORPORA.is_dir():
        files += sorted(CORPORA.rglob("*.sql"))
    return [f.read_bytes() for f in files]


_TOKENS = [b"(", b")", b"'", b'"', b"--", b"/*", b"*/", b";", b"$$", b"$1", b"::", b"\\", b"\n", b"%", b"`", b"[",
           b"\xff", b"\xc3", b"\x00", b"\xef\xbb\xbf", b"NULL", b"SELECT", b"WHERE", b"(SELECT 1)", b"'%x'", b"OR",
           b"E'\\x'", b"U&'\\0041'", b"\r", b"\t", b"\xe2\x80\xa8", b"LIKE", b"IN (", b"->>", b"CAST("]


def mutate(data: bytes, rng: random.Random, rounds: int) -> bytes:
    """``rounds`` random edits: delete, duplicate, insert a token or random bytes, flip a bit, move a chunk."""
    buf = bytearray(data)
    for _ in range(rounds):
        n = len(buf)
        at = rng.randrange(n + 1)
        span = rng.randrange(1, 40)
        kind = rng.randrange(7)
        if kind == 0 and n:
            del buf[at : at + span]
        elif kind == 1 and n:
            buf[at:at] = buf[at : at + span]
        elif kind == 2:
            buf[at:at] = rng.choice(_TOKENS)
        elif kind == 3:
            buf[at:at] = bytes(rng.randrange(256) for _ in range(rng.randrange(1, 4)))
        elif kind == 4 and n:
            i = rng.randrange(n)
            buf[i] ^= 1 << rng.randrange(8)
        elif kind == 5 and n > 2:
            a, b = sorted(rng.sample(range(n), 2))
            chunk = buf[a:b]
            del buf[a:b]
            at = rng.randrange(len(buf) + 1)
            buf[at:at] = chunk
        else:
            buf[at:at] = rng.choice(_TOKENS) * rng.randrange(1, 30)
    return bytes(buf)


@st.composite
def mutated_queries(draw) -> bytes:
    corpus = _corpus()
    data = corpus[draw(st.integers(0, len(corpus) - 1))]
    rng = random.Random(draw(st.integers(0, 2**32 - 1)))
    return mutate(data, rng, draw(st.integers(1, 8)))


@lru_cache(maxsize=1)
def _corpus() -> list[bytes]:
    return real_queries()


# -- the invariants ----------------------------------------------------------------------------------
@lru_cache(maxsize=None)
def fuzz_schema():
    from sqlperf.schema import load_schema

    return load_schema([MIGRATIONS])


@lru_cache(maxsize=None)
def linter_for(dialect: str, with_schema: bool = True) -> Linter:
    return Linter(Settings(dialect=dialect, select=["ALL"], cache_dir=None), schema=fuzz_schema() if with_schema else None)


def _in_file(source: SourceFile, finding: Finding) -> list[str]:
    text = source.text
    problems = []
    where = f"{finding.code} at {finding.start}:{finding.end} (file of {len(text)} chars)"
    if not (0 <= finding.start <= finding.end <= len(text)):
        problems.append(f"{where}: span outside the file")
    lines = text.count("\n") + 1
    if not (1 <= finding.line <= finding.end_line <= lines):
        problems.append(f"{where}: lines {finding.line}-{finding.end_line} outside 1-{lines}")
    else:
        for line, column in ((finding.line, finding.column), (finding.end_line, finding.end_column)):
            if not (1 <= column <= len(source.line_text(line)) + 1):
                problems.append(f"{where}: column {column} outside line {line} of {len(source.line_text(line))} chars")
        if (finding.line, finding.column) > (finding.end_line, finding.end_column):
            problems.append(f"{where}: ends before it starts")
    if finding.fix is not None:
        for edit in finding.fix.edits:
            if not (0 <= edit.start <= edit.end <= len(text)):
                problems.append(f"{where}: fix edit {edit.start}:{edit.end} outside the file")
    return problems


def _shifted(edits, position: int) -> int:
    """Where ``position`` of the old text lands after ``edits`` (sorted, non-overlapping)."""
    delta = 0
    for edit in edits:
        if edit.end <= position:
            delta += len(edit.content) - (edit.end - edit.start)
    return position + delta


def check_text(text: str, dialect: str = "postgres", with_schema: bool = True) -> list[str]:
    """Every invariant of the check pipeline on one text; the list of what went wrong (empty: fine)."""
    linter = linter_for(dialect, with_schema)
    source = SourceFile(text, "fuzz.sql")
    result = linter.lint_source(source)
    problems = list(result.errors)
    for finding in result.findings:
        problems += _in_file(source, finding)
    if problems:
        return problems

    def lint(fixed_text: str) -> list[Finding]:
        again = linter.lint_text(fixed_text, "fuzz.sql")
        problems.extend(f"after a fix: {e}" for e in again.errors)
        return again.findings

    # Each safe fix on its own: it re-parses and does not bring its own rule back where it fixed.
    for finding in result.findings:
        if finding.fix is None or finding.fix.applicability is not Applicability.SAFE or not fixable(finding, False):
            continue
        outcome = apply_round(text, [finding], linter.dialect, unsafe=False)
        if outcome.refused:
            problems.append(f"safe fix of {finding.code} at {finding.start} does not parse: {outcome.refused[0][1]}\n{text!r}")
            continue
        edits = sorted(finding.fix.edits, key=lambda e: (e.start, e.end))
        lo = _shifted(edits, min(e.start for e in edits))
        hi = _shifted(edits, max(e.end for e in edits))
        for again in lint(outcome.text):
            if again.code == finding.code and again.start < hi and lo < again.end or (again.code == finding.code and again.start == lo):
                problems.append(
                    f"safe fix of {finding.code} at {finding.start} fires {again.code} again at {again.start}: "
                    f"{text[finding.start:finding.end]!r} -> {outcome.text[lo:hi]!r}"
                )
    # All fixes together, to the end: a second run changes nothing more.
    if any(fixable(f, False) for f in result.findings):
        fixed, _, refused, _ = fix_text(text, lint, linter.dialect)
        problems += [f"fix_text refused a safe fix of {f.code} at {f.start}: {why}" for f, why in refused]
        refixed = fix_text(fixed, lint, linter.dialect)[0]
        if refixed != fixed:
            problems.append(f"fixing is not idempotent:\n{fixed!r}\n->\n{refixed!r}")
    return problems


def check_bytes(data: bytes, dialect: str = "postgres") -> list[str]:
    """Bytes as a file would hand them over: undecodable ones must be refused with a SourceError, nothing else."""
    try:
        source = SourceFile.from_bytes(data, "fuzz.sql")
    except SourceError as error:
        message = str(error)
        return [] if message.startswith("fuzz.sql: ") and "\n" not in message else [f"unclear refusal: {message!r}"]
    return check_text(source.text, dialect)


# -- the bounded in-suite runs -----------------------------------------------------------------------
FUZZ = settings(max_examples=80, deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large], derandomize=False)


@FUZZ
@given(text=sql_files(), dialect=st.sampled_from(("postgres",) * 4 + DIALECTS))
def test_generated_sql_keeps_every_invariant(text, dialect):
    problems = check_text(text, dialect)
    assert not problems, "\n".join(problems) + f"\n--- input ({dialect}) ---\n{text}"


@FUZZ
@given(data=mutated_queries())
def test_mutated_real_queries_keep_every_invariant(data):
    problems = check_bytes(data)
    assert not problems, "\n".join(problems) + f"\n--- input ---\n{data!r}"


@settings(max_examples=40, deadline=None)
@given(text=sql_files())
def test_generated_sql_without_a_schema(text):
    problems = check_text(text, "postgres", with_schema=False)
    assert not problems, "\n".join(problems) + f"\n--- input ---\n{text}"


@pytest.mark.parametrize("data", _corpus()[:200], ids=lambda d: str(len(d)))
def test_real_queries_unmutated(data):
    """The seeds themselves: every sample query and (when present) every TPC query keeps the invariants."""
    assert check_bytes(data) == []


# Inputs the long run (bench/fuzz_long.py) found, kept so that what was fixed stays fixed.
REGRESSIONS = [
    # fix.py cut the statement at a semicolon inside a string literal, and refused a good fix.
    pytest.param("INSERT /* block */\n INTO users SELECT total FROM users WHERE u.total = 'a;b'", "postgres", id="semicolon-in-string"),
    pytest.param("/* nested /* */ INSERT INTO orders VALUES (DATE '2024-01-01', 'a;b', \t 273)", "sqlite", id="semicolon-in-string-sqlite"),
    # SP301 offered to replace the FROM keyword of a FROM-first query with a column list.
    pytest.param("FROM orders o WHERE o.user_id = $1 ORDER BY o.total DESC LIMIT 24;", "postgres", id="from-first-select"),
    # sqlglot's parser raised a TypeError (not a ParseError) on "?}" and it ended the whole run.
    pytest.param("SELECT a FROM t WHERE b ?}\nSELECT 1;", "postgres", id="parser-type-error"),
    # SP203 (through the DDL reader) crashed on a REFERENCES that sqlglot reads as a subquery.
    pytest.param("CREATE TABLE t (a int, CONSTRAINT f FOREIGN KEY (a) REFERENCES(a) REFERENCES users (id));", "postgres",
                 id="references-a-subquery"),
    # fix.py re-parsed the fixed statement without its ";", and sqlglot cannot tokenize "$1 AND ''" at the very end.
    pytest.param("SELECT *, o.id FROM orgs o JOIN order_items o ON 'x' BETWEEN $1 AND '';\n", "postgres", id="param-then-empty-string-at-end"),
    # SP000 took sqlglot's line number, which counts a lone carriage return as a line break.
    pytest.param("-- x\r\r\r\rfoo\nSELECT id FROM orders WHERE;\n", "postgres", id="carriage-returns-before-an-error"),
]


@pytest.mark.parametrize(("text", "dialect"), REGRESSIONS)
def test_regressions(text, dialect):
    assert check_text(text, dialect) == []


def test_mutation_is_deterministic_and_changes_the_input():
    """The mutator is part of the test: same seed, same output; it really edits."""
    seed = _corpus()[0]
    assert mutate(seed, random.Random(7), 5) == mutate(seed, random.Random(7), 5)
    assert any(mutate(seed, random.Random(s), 3) != seed for s in range(10))


def test_invariant_checker_catches_a_span_outside_the_file():
    """check_text's own guard can fail: a finding past the end of the text is reported."""
    source = SourceFile("SELECT 1", "fuzz.sql")
    bad = Finding(code="SP999", name="x", message="m", start=3, end=99, line=1, column=4, end_line=1, end_column=100)
    assert any("outside" in p for p in _in_file(source, bad))
