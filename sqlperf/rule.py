"""The rule API: what a rule declares, what it is handed, and what it returns.

A rule is a class with metadata as class attributes. The engine walks each parsed
statement once and calls ``visit`` for every node whose type the rule listed in
``node_types``; ``finish`` runs once per statement after the walk. Rules report and
never edit: a finding may carry a :class:`Fix` made of text edits that the engine
applies to the original source.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, ClassVar, Iterable

if TYPE_CHECKING:
    from sqlglot import exp

    from sqlperf.context import RuleContext


class Applicability(str, enum.Enum):
    SAFE = "safe"
    UNSAFE = "unsafe"
    DISPLAY = "display-only"


class Severity(str, enum.Enum):
    ERROR = "error"
    WARNING = "warning"
    INFO = "info"


@dataclass(frozen=True)
class Edit:
    """Replace ``source[start:end]`` (character offsets into the file's text) with ``content``."""

    start: int
    end: int
    content: str


@dataclass
class Fix:
    applicability: Applicability
    edits: list[Edit] = field(default_factory=list)
    # What the fixed span reads as; for display-only fixes, the suggestion itself (e.g. index DDL).
    replacement: str = ""
    message: str = ""

    @property
    def applies_automatically(self) -> bool:
        return self.applicability is not Applicability.DISPLAY and bool(self.edits)


@dataclass
class Verification:
    status: str  # "confirmed" | "not-confirmed" | "skipped"
    reason: str = ""
    plan_before: dict | None = None
    plan_after: dict | None = None
    cost_before: float | None = None
    cost_after: float | None = None
    evidence: str = ""

    def to_json(self) -> dict:
        out: dict[str, Any] = {"status": self.status, "reason": self.reason}
        out["plan_before"] = self.plan_before
        out["cost_before"] = self.cost_before
        out["cost_after"] = self.cost_after
        if self.plan_after is not None:
            out["plan_after"] = self.plan_after
        if self.evidence:
            out["evidence"] = self.evidence
        return out


@dataclass
class Finding:
    code: str
    name: str
    message: str
    path: str = "<string>"
    # 1-based, inclusive start; end column points one past the last character (like ruff/SARIF).
    line: int = 1
    column: int = 1
    end_line: int = 1
    end_column: int = 1
    help: str = ""
    severity: Severity = Severity.WARNING
    fix: Fix | None = None
    verification: Verification | None = None
    # Character offsets in the source text; used by fixes, noqa and code frames.
    start: int = 0
    end: int = 0
    # Index of the statement in its source, and the statement's SQL (for --verify and capture).
    statement_index: int = 0
    statement_sql: str = ""
    # Free-form data a rule attaches for later stages (e.g. the column and table for verification).
    data: dict = field(default_factory=dict)

    def sort_key(self) -> tuple:
        return (self.path, self.line, self.column, self.code)


class Rule:
    """Base class of every rule. Subclass it, set the metadata, implement ``visit``/``finish``.

    The docstring is the rule's documentation, with the sections *What it does*,
    *Why is this bad?*, *Example*, *Use instead* and, where it fixes, *Fix safety*.
    """

    code: ClassVar[str] = ""
    name: ClassVar[str] = ""
    category: ClassVar[str] = ""  # "sargability", "index", "fetch", "shape", "runtime", "plan"
    node_types: ClassVar[tuple[type[exp.Expression], ...]] = ()
    needs_schema: ClassVar[bool] = False
    fix_applicability: ClassVar[Applicability | None] = None
    severity: ClassVar[Severity] = Severity.WARNING
    # Option name -> default; users override them under [tool.sqlperf.rules.<code or name>].
    options: ClassVar[dict[str, Any]] = {}
    # Off unless selected explicitly (or with --select ALL).
    default_enabled: ClassVar[bool] = True
    # Rules whose findings only make sense on real traffic (SP5xx) or a plan (SP6xx) are not run by the engine.
    static: ClassVar[bool] = True
    # True when ``visit`` can only report a predicate (comparison, LIKE, IN, BETWEEN) with an
    # operand that is more than a bare column or constant (a function, a cast, arithmetic):
    # the engine then skips the rule on predicates like ``a.id = b.a_id`` or ``x = 5``.
    wraps_operands: ClassVar[bool] = False
    aliases: ClassVar[tuple[str, ...]] = ()

    def __init__(self, opts: dict[str, Any] | None = None) -> None:
        self.opts: dict[str, Any] = {**self.options, **(opts or {})}

    def visit(self, node: exp.Expression, ctx: RuleContext) -> Iterable[Finding] | None:
        return None

    def finish(self, ctx: RuleContext) -> Iterable[Finding] | None:
        return None

    @classmethod
    def doc(cls) -> str:
        import inspect

        return inspect.cleandoc(cls.__doc__ or "")
