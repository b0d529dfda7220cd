"""Apply fix edits to the original text: only where they apply, never breaking the SQL.

Each fix is tried on its own statement first and refused when the result no longer
parses; the accepted, non-overlapping fixes are then applied together. Overlapping ones
wait for the next round, after a fresh lint of the fixed text.
"""

from __future__ import annotations

import bisect
from dataclasses import dataclass, field

from sqlglot.errors import ParseError, TokenError

from sqlperf.rule import Applicability, Edit, Finding

MAX_ROUNDS = 10


@dataclass
class FixOutcome:
    text: str
    applied: list[Finding] = field(default_factory=list)
    refused: list[tuple[Finding, str]] = field(default_factory=list)


def fixable(finding: Finding, unsafe: bool) -> bool:
    fix = finding.fix
    if fix is None or not fix.edits:
        return False
    if fix.applicability is Applicability.SAFE:
        return True
    return unsafe and fix.applicability is Applicability.UNSAFE


def apply_edits(text: str, edits: list[Edit]) -> str:
    out = []
    cursor = 0
    for edit in sorted(edits, key=lambda e: (e.start, e.end)):
        out.append(text[cursor : edit.start])
        out.append(edit.content)
        cursor = edit.end
    out.append(text[cursor:])
    return "".join(out)


def _parses(sql: str, dialect) -> str | None:
    """None when ``sql`` parses, else the reason it does not."""
    try:
        # The newline: sqlglot's tokenizer fails on "$1 = ''" when the '' ends the input.
        dialect.parse(sql + "\n")
    except (ParseError, TokenError) as error:
        return str(error).splitlines()[0]
    except RecursionError:
        return "nested too deeply"
    return None


def _semicolons(text: str, dialect) -> list[int]:
    """Offsets of the semicolons that end statements (not those inside strings or comments)."""
    from sqlglot.tokens import TokenType

    try:
        return [t.start for t in dialect.tokenize(text) if t.token_type is TokenType.SEMICOLON]
    except (TokenError, RecursionError):
        return [i for i, ch in enumerate(text) if ch == ";"]


def _fixed_statement(text: str, finding: Finding, semicolons: list[int]) -> str:
    start = min(finding.start, *(e.start for e in finding.fix.edits))
    end = max(finding.end, *(e.end for e in finding.fix.edits))
    # The statement that holds the edit: widen to the enclosing semicolons.
    at = bisect.bisect_left(semicolons, start)
    lo = semicolons[at - 1] + 1 if at else 0
    after = bisect.bisect_left(semicolons, end)
    hi = semicolons[after] if after < len(semicolons) else len(text)
    shifted = [Edit(e.start - lo, e.end - lo, e.content) for e in finding.fix.edits]
    return apply_edits(text[lo:hi], shifted)


def apply_round(text: str, findings: list[Finding], dialect, unsafe: bool) -> FixOutcome:
    """One round: every fix that applies, does not overlap an earlier one, and keeps the SQL parsing."""
    outcome = FixOutcome(text)
    taken: list[tuple[int, int]] = []
    edits: list[Edit] = []
    candidates = sorted((f for f in findings if fixable(f, unsafe)), key=lambda f: f.start)
    semicolons = _semicolons(text, dialect) if candidates else []
    for finding in candidates:
        spans = [(e.start, e.end) for e in finding.fix.edits]
        if any(a < d and c < b or (a == b == c == d) for a, b in spans for c, d in taken):
            continue  # overlaps a fix already taken this round; the next round sees it again
        problem = _parses(_fixed_statement(text, finding, semicolons), dialect)
        if problem is not None:
            outcome.refused.append((finding, f"the fixed statement would not parse ({problem})"))
            continue
        taken.extend(spans)
        edits.extend(finding.fix.edits)
        outcome.applied.append(finding)
    outcome.text = apply_edits(text, edits) if edits else text
    return outcome


def fix_text(text: str, lint, dialect, unsafe: bool = False) -> tuple[str, list[Finding], list[tuple[Finding, str]], list[Finding]]:
    """Fix until nothing more applies. ``lint(text)`` returns findings for a text.

    Returns (fixed text, applied findings, refused findings with reasons, remaining findings).
    """
    applied: list[Finding] = []
    refused: list[tuple[Finding, str]] = []
    refused_keys: set[tuple] = set()
    findings = lint(text)
    for _ in range(MAX_ROUNDS):
        candidates = [f for f in findings if (f.code, f.start, f.end) not in refused_keys]
        outcome = apply_round(text, candidates, dialect, unsafe)
        for finding, reason in outcome.refused:
            refused_keys.add((finding.code, finding.start, finding.end))
            refused.append((finding, reason))
        if not outcome.applied:
            break
        applied.extend(outcome.applied)
        text = outcome.text
        findings = lint(text)
    return text, applied, refused, findings
