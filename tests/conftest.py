from __future__ import annotations

import os
import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
FIXTURES = ROOT / "fixtures"
MARKER = re.compile(r"#\s*expect:\s*(EG\d{3}(?:\s*,\s*EG\d{3})*)")


def expected_markers(paths: list[Path]) -> set[tuple[str, int, str]]:
    """(path, line, code) for every `# expect:` marker in these files."""
    out = set()
    for path in paths:
        for lineno, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
            m = MARKER.search(line)
            if m:
                for code in m.group(1).split(","):
                    out.add((os.path.normpath(str(path)), lineno, code.strip()))
    return out


@pytest.fixture
def in_root(monkeypatch):
    monkeypatch.chdir(ROOT)
    return ROOT


@pytest.fixture
def analysed_functions(monkeypatch) -> list[str]:
    """The key of every function analysis the test runs from here on, in order."""
    from evalguard.analysis import interprocedural

    analysed: list[str] = []
    real = interprocedural.FunctionAnalysis

    class Recording(real):  # type: ignore[misc, valid-type]
        def run(self):
            analysed.append(self.key)
            return super().run()

    monkeypatch.setattr(interprocedural, "FunctionAnalysis", Recording)
    return analysed
