"""One line per verification, for the text renderer:

``confirmed: Seq Scan on orders, Filter (lower(email) = 'x'); with index ON orders (lower(email)); cost 18,340 -> 8.4``
"""

from __future__ import annotations

from sqlperf.rule import Verification
from sqlperf.verify.confirm import format_cost


def describe(verification: Verification) -> str:
    """``status: reason; cost A -> B`` on one line (the cost part only when both are known)."""
    text = f"{verification.status}: {verification.reason}".strip()
    before, after = verification.cost_before, verification.cost_after
    if before is not None and after is not None and "cost " not in verification.reason:
        text += f"; cost {format_cost(before)} -> {format_cost(after)}"
    elif before is not None and after is None and verification.status != "skipped":
        text += f"; cost {format_cost(before)}"
    return " ".join(text.split())
