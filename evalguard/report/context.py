"""What a formatter may need besides the findings: where paths are relative to, colour, source text."""

from __future__ import annotations

import json
import os
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath
from typing import TYPE_CHECKING
from urllib.parse import quote

from evalguard.findings import Finding

if TYPE_CHECKING:
    from evalguard.report.confirm import Confirmation

LinesFor = Callable[[str], "Sequence[str] | None"]
CellLinesFor = Callable[[str, int], "Sequence[str] | None"]


class SourceReader:
    """Reads and caches a file's lines (decoded like the checker decodes them); None when unreadable."""

    def __init__(self) -> None:
        self._cache: dict[str, list[str] | None] = {}

    def __call__(self, path: str) -> list[str] | None:
        if path not in self._cache:
            self._cache[path] = self._read(path)
        return self._cache[path]

    @staticmethod
    def _read(path: str) -> list[str] | None:
        from evalguard.parsing.source import decode_source

        try:
            with open(path, "rb") as handle:
                return decode_source(handle.read()).splitlines()
        except Exception:  # noqa: BLE001 - unreadable or undecodable (DecodeError): no source to show
            return None


class NotebookCellReader:
    """Original source lines of cell N of a .ipynb file; None when unreadable or not a code cell.

    N is the cell's 1-based position among *all* the notebook's cells (markdown and raw included), as
    in `evalguard.parsing.notebook`, whose reader is used when it is available.
    """

    def __init__(self) -> None:
        self._cache: dict[str, dict[int, list[str]] | None] = {}

    def __call__(self, path: str, cell: int) -> list[str] | None:
        if path not in self._cache:
            self._cache[path] = self._read(path)
        cells = self._cache[path]
        return None if cells is None else cells.get(cell)

    @staticmethod
    def _read(path: str) -> dict[int, list[str]] | None:
        try:
            with open(path, "rb") as handle:
                data = handle.read()
        except OSError:
            return None
        try:
            from evalguard.parsing.notebook import notebook_source
        except ImportError:
            notebook_source = None
        try:
            if notebook_source is not None:
                return {number: list(lines) for number, lines in notebook_source(data).original.items()}
            out = {}
            for number, cell in enumerate(json.loads(data)["cells"], 1):
                if cell.get("cell_type") == "code":
                    source = cell.get("source", "")
                    out[number] = ("".join(source) if isinstance(source, list) else str(source)).splitlines()
            return out
        except Exception:  # noqa: BLE001 - a malformed notebook is reported as EG000, not here
            return None


@dataclass
class ReportContext:
    """Everything formatters need besides the findings.

    root:         directory that SARIF/GitHub paths are made relative to (default: the current directory).
    color:        ANSI colour in the `full` format (the CLI passes True only on a TTY without NO_COLOR).
    source_lines: path -> the file's lines, or None when unavailable (default: read from disk, cached).
                  Used by `full` (source excerpt) and `sarif` (fingerprints). None disables source.
    cell_lines:   (notebook path, cell number) -> that cell's original lines, or None. Default: read the
                  .ipynb; N counts all cells, 1-based, as `Finding.cell` does (evalguard.parsing.notebook).
    runtime:      with `--trace`: the join of the findings with the runtime trace
                  (evalguard.report.confirm.Confirmation); formatters mark findings and list runtime-only
                  ones. None: no trace, output exactly as without the option.
    """

    root: str = field(default_factory=os.getcwd)
    color: bool = False
    source_lines: LinesFor | None = field(default_factory=SourceReader)
    cell_lines: CellLinesFor | None = field(default_factory=NotebookCellReader)
    runtime: Confirmation | None = None

    def lines_for(self, finding: Finding) -> Sequence[str] | None:
        """The lines `finding.line` indexes: the file's, or for a notebook finding its cell's."""
        try:
            if finding.cell > 0:
                return self.cell_lines(finding.path, finding.cell) if self.cell_lines else None
            return self.source_lines(finding.path) if self.source_lines else None
        except Exception:  # noqa: BLE001 - a report must not fail on a source it cannot show
            return None

    def line_text(self, finding: Finding) -> str | None:
        """The text of the finding's first line, or None when unavailable."""
        lines = self.lines_for(finding)
        if lines is None or not 1 <= finding.line <= len(lines):
            return None
        return lines[finding.line - 1].rstrip("\r\n")

    def relative_path(self, path: str) -> str | None:
        """`path` relative to root with forward slashes, or None when it lies outside root."""
        absolute = os.path.abspath(path)
        root = os.path.abspath(self.root)
        try:
            rel = os.path.relpath(absolute, root)
        except ValueError:  # another drive on Windows
            return None
        if rel == os.pardir or rel.startswith(os.pardir + os.sep) or os.path.isabs(rel):
            return None
        return PurePosixPath(*Path(rel).parts).as_posix()

    def display_path(self, path: str) -> str:
        """Relative to root when inside it, else the path as given; forward slashes."""
        rel = self.relative_path(path)
        return rel if rel is not None else path.replace(os.sep, "/")

    def root_uri(self) -> str:
        """`file:///abs/root/` (always with the trailing slash SARIF needs for a base URI)."""
        uri = Path(os.path.abspath(self.root)).as_uri()
        return uri if uri.endswith("/") else uri + "/"

    def artifact_uri(self, path: str) -> tuple[str, bool]:
        """(uri, relative_to_root): a percent-encoded relative reference, or an absolute file URI."""
        rel = self.relative_path(path)
        if rel is not None:
            return quote(rel, safe="/"), True
        return Path(os.path.abspath(path)).as_uri(), False
