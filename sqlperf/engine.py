"""Parse each statement once, walk it once, hand each node to the rules that asked for its type."""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from pathlib import Path

from sqlglot import exp
from sqlglot.errors import ParseError

from sqlperf.analysis import SARGABLE_PREDICATES, bare_operands
from sqlperf.config import ConfigError, Settings, ignored_for_file, rule_options, selected_codes
from sqlperf.context import RuleContext, located_finding
from sqlperf.gcpolicy import StatementCollector
from sqlperf.registry import Registry, load_registry
from sqlperf.rule import Finding, Rule, Severity
from sqlperf.source import SourceError, SourceFile, Statement, split_statements, tokenize
from sqlperf.spans import SpanIndex

# sqlglot warns on stderr when it falls back to a generic Command; that is not the user's concern.
logging.getLogger("sqlglot").setLevel(logging.ERROR)

PARSE_ERROR = "SP000"


@dataclass
class FileResult:
    path: str
    findings: list[Finding] = field(default_factory=list)
    statements: int = 0
    errors: list[str] = field(default_factory=list)  # one line each, for stderr; exit code 2
    skipped: bool = False  # unreadable as SQL; nothing was linted


def get_dialect(name: str):
    from sqlglot.dialects.dialect import Dialect

    try:
        return Dialect.get_or_raise(name)
    except ValueError as error:
        raise ConfigError(f"unknown dialect '{name}': {error}") from None


class Linter:
    """The rules selected by one set of settings, ready to lint any number of sources."""

    def __init__(self, settings: Settings, schema=None, registry: Registry | None = None) -> None:
        self.settings = settings
        self.registry = registry or load_registry()
        self.dialect_name = settings.dialect.lower()
        self.dialect = get_dialect(self.dialect_name)
        self.schema = schema if schema else None
        self.notes: list[str] = []
        if self.schema is not None:
            # What the schema loaders skipped (an unsupported ALTER, a statement that does not parse).
            self.notes.extend(f"schema: {note}" for note in self.schema.notes)
        codes = selected_codes(self.registry, settings)
        self.codes = codes
        self.rules: dict[str, Rule] = {}
        skipped_for_schema = []
        for code in sorted(codes):
            cls = self.registry.rules[code]
            if not cls.static or code == PARSE_ERROR:
                continue
            if cls.needs_schema and self.schema is None:
                skipped_for_schema.append(code)
                continue
            self.rules[code] = cls(rule_options(self.registry, settings, code))
        if skipped_for_schema:
            self.notes.append(
                f"schema rules {', '.join(skipped_for_schema)} are off: no schema was given "
                "(use --schema FILE, --schema-dsn URL or --schema-metadata module:attr)"
            )
        self._dispatch_cache: dict[frozenset, _Dispatch] = {}

    # -- public ----------------------------------------------------------------------------------
    def lint_path(self, path: Path, display_path: str | None = None) -> FileResult:
        try:
            source = SourceFile.read(path, display_path)
        except SourceError as error:
            return FileResult(display_path or str(path), errors=[str(error)], skipped=True)
        return self.lint_source(source)

    def lint_text(self, text: str, path: str = "<string>") -> FileResult:
        return self.lint_source(SourceFile(text, path))

    def lint_source(self, source: SourceFile) -> FileResult:
        with StatementCollector() as collector:
            return self._lint_source(source, collector)

    # -- internals -------------------------------------------------------------------------------
    def _lint_source(self, source: SourceFile, collector: StatementCollector) -> FileResult:
        result = FileResult(source.display_path)
        ignored = ignored_for_file(self.registry, self.settings, source.display_path) if self.settings.per_file_ignores else set()
        dispatch = self._dispatch(frozenset(ignored))
        try:
            tokens, broken = tokenize(source.text, self.dialect)
        except RecursionError:
            tokens, broken = [], [(0, len(source.text), "statement nested too deeply to tokenize")]
        report_parse_errors = PARSE_ERROR in self.codes and PARSE_ERROR not in ignored
        if report_parse_errors:
            for start, end, message in broken:
                result.findings.append(self._parse_error(source, start, end, message, 0))
        parser = self.dialect.parser()
        statements = split_statements(source, tokens)
        result.statements = len(statements) + len(broken)
        self._lint_statements(source, statements, parser, dispatch, report_parse_errors, result, collector)
        result.findings = self._apply_noqa(source, tokens, result.findings)
        result.findings.sort(key=Finding.sort_key)
        return result

    def _lint_statements(self, source, statements, parser, dispatch, report_parse_errors, result, collector) -> None:
        for statement in statements:
            collector.between_statements()
            try:
                trees = parser.parse(statement.tokens, source.text)
            except ParseError as error:
                if report_parse_errors:
                    result.findings.append(self._parse_failure(source, statement, error))
                continue
            except RecursionError:
                if report_parse_errors:
                    result.findings.append(
                        self._parse_error(source, statement.start, statement.end, "statement nested too deeply to parse", statement.index)
                    )
                continue
            except Exception as error:  # noqa: BLE001 - sqlglot itself can trip on odd input (a TypeError on "b ?}")
                if report_parse_errors:
                    message = f"the parser failed on it ({type(error).__name__}: {error})"
                    result.findings.append(self._parse_error(source, statement.start, statement.end, message, statement.index))
                continue
            for tree in trees:
                if tree is not None:
                    self._run_rules(dispatch, source, statement, tree, result)

    def _dispatch(self, ignored: frozenset) -> _Dispatch:
        found = self._dispatch_cache.get(ignored)
        if found is None:
            found = _Dispatch([r for code, r in self.rules.items() if code not in ignored])
            self._dispatch_cache[ignored] = found
        return found

    def _run_rules(self, dispatch: _Dispatch, source: SourceFile, statement: Statement, tree, result: FileResult) -> None:
        ctx = RuleContext(source, statement, tree, SpanIndex(statement.tokens, source.text), self.dialect_name, self.schema)
        findings = result.findings
        by_class = dispatch.by_class
        for_bare = dispatch.for_bare
        # Depth first with an explicit stack rather than tree.walk(): a third less time per node,
        # and no recursion however deep the statement.
        stack = [tree]
        pop, push, extend = stack.pop, stack.append, stack.extend
        expression = exp.Expression
        try:
            while stack:
                node = pop()
                for value in node.args.values():
                    if value.__class__ is list:
                        extend([item for item in value if isinstance(item, expression)])
                    elif isinstance(value, expression):
                        push(value)
                cls = node.__class__
                rules = by_class.get(cls)
                if rules is None:
                    rules = dispatch.rules_for(cls)
                if rules:
                    unwrapped = for_bare.get(cls)
                    if unwrapped is not None and bare_operands(node):
                        rules = unwrapped
                for rule in rules:
                    try:
                        produced = rule.visit(node, ctx)
                    except Exception as error:  # noqa: BLE001 - one broken rule must not stop the run
                        result.errors.append(_crash_message(rule, statement, error))
                        continue
                    if produced:
                        findings.extend(produced)
        except RecursionError:
            result.errors.append(f"{source.display_path}:{statement.line}: statement nested too deeply to analyse")
            return
        for rule in dispatch.finishers:
            try:
                produced = rule.finish(ctx)
            except Exception as error:  # noqa: BLE001
                result.errors.append(_crash_message(rule, statement, error))
                continue
            if produced:
                findings.extend(produced)

    def _parse_failure(self, source: SourceFile, statement: Statement, error: ParseError) -> Finding:
        detail = error.errors[0] if error.errors else {}
        description = detail.get("description") or str(error).splitlines()[0]
        finding = self._parse_error(source, statement.start, statement.end, description, statement.index)
        # Point at the token sqlglot stopped on. Its line and column are sqlglot's own count, which
        # also breaks lines at a lone carriage return, so go through the token's offset instead.
        where = (detail.get("line"), detail.get("col"))
        for token in statement.tokens:
            if (token.line, token.col) == where and statement.start <= token.start <= statement.end:
                finding.line, finding.column = source.position(token.start)
                break
        return finding

    def _parse_error(self, source: SourceFile, start: int, end: int, message: str, index: int) -> Finding:
        rule = self.registry.rules.get(PARSE_ERROR)
        return located_finding(
            source,
            start,
            end,
            code=PARSE_ERROR,
            name=rule.name if rule else "parse-error",
            message=f"cannot parse this statement as {self.dialect_name} SQL: {message}",
            help="fix the syntax, or choose the right dialect with --dialect or `dialect` in the configuration",
            severity=Severity.ERROR,
            statement_index=index,
            statement_sql=source.text[start:end],
        )

    def _apply_noqa(self, source: SourceFile, tokens, findings: list[Finding]) -> list[Finding]:
        if not findings:
            return findings
        file_wide, lines = source.noqa(tokens)
        if file_wide:
            return []
        if not lines:
            return findings
        kept = []
        for finding in findings:
            if finding.line in lines:
                codes = lines[finding.line]
                if codes is None or finding.code in codes or finding.name.upper() in codes:
                    continue
            kept.append(finding)
        return kept


class _Dispatch:
    """Which rules want which node class; resolved once per class (subclasses included)."""

    def __init__(self, rules: list[Rule]) -> None:
        self.rules = rules
        self.finishers = [r for r in rules if type(r).finish is not Rule.finish]
        # Read directly by the walk loop: a method call per node costs more than the lookup.
        self.by_class: dict[type, tuple[Rule, ...]] = {}
        # For a predicate class: its rules less those that only report wrapped operands, to run
        # when the predicate's operands are all bare. Absent when no such rule wants the class.
        self.for_bare: dict[type, tuple[Rule, ...]] = {}

    def rules_for(self, cls: type) -> tuple[Rule, ...]:
        found = self.by_class.get(cls)
        if found is None:
            found = tuple(r for r in self.rules if r.node_types and issubclass(cls, r.node_types))
            self.by_class[cls] = found
            if issubclass(cls, SARGABLE_PREDICATES) and any(r.wraps_operands for r in found):
                self.for_bare[cls] = tuple(r for r in found if not r.wraps_operands)
        return found


def _crash_message(rule: Rule, statement: Statement, error: Exception) -> str:
    return (
        f"{statement.source.display_path}:{statement.line}: internal error in rule {rule.code} "
        f"({type(error).__name__}: {error}); please report it. The other rules still ran."
    )


_LINTERS: dict[tuple, Linter] = {}


def lint_sql(
    sql: str,
    *,
    dialect: str = "postgres",
    schema=None,
    select: list[str] | tuple[str, ...] | None = None,
    path: str = "<string>",
) -> list[Finding]:
    """Lint one string of SQL (one or more statements); the library door for capture and report."""
    key = (dialect, tuple(select) if select is not None else None, id(schema))
    linter = _LINTERS.get(key)
    if linter is None or linter.schema is not (schema if schema else None):
        linter = Linter(Settings(dialect=dialect, select=list(select) if select is not None else None), schema=schema)
        if len(_LINTERS) > 32:
            _LINTERS.clear()
        _LINTERS[key] = linter
    return linter.lint_text(sql, path).findings


def is_query(tree: exp.Expression) -> bool:
    return isinstance(tree, (exp.Query, exp.Update, exp.Delete, exp.Insert))
