"""The one record every stage agrees on: a finding at a source range."""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True, order=True)
class Finding:
    """A rule violation. Lines and columns are 1-based; ordering sorts by path, then position."""

    path: str
    line: int
    column: int
    code: str
    message: str
    end_line: int = 0
    end_column: int = 0
    # A fix spec (evalguard.fix.specs) when the rule can repair this finding.
    fix: object = field(default=None, compare=False, repr=False)
    # For notebooks: the 1-based cell position (all cells counted, as Jupyter shows them);
    # `line`/`column` are then within that cell.
    cell: int = 0

    @property
    def name(self) -> str:
        from evalguard.rules_catalog import RULES

        return RULES[self.code].name
