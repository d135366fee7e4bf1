"""flake8 integration: `flake8 --select EG` reports evalguard's findings for each file on its own.

flake8 checks one file at a time, so only what a single file shows is found (a helper in another
file is not followed); `evalguard check` sees the whole project.
"""

from __future__ import annotations

import ast

from evalguard import __version__


class Plugin:
    name = "evalguard"
    version = __version__

    def __init__(self, tree: ast.AST, filename: str, lines: list[str] | None = None) -> None:
        self.filename = filename
        self.lines = lines

    def run(self):
        from evalguard.pipeline import check_modules, parse_source

        if self.lines is not None:
            source = "".join(self.lines)
        else:
            with open(self.filename, "rb") as handle:
                source = handle.read()
        errors: list[str] = []
        facts = parse_source(source, self.filename, "__main__", errors)
        for finding in check_modules([facts]).findings:
            if finding.code == "EG000":
                continue  # flake8 reports syntax errors itself (E999)
            yield finding.line, finding.column - 1, f"{finding.code} {finding.message}", type(self)
