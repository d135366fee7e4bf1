"""Every fixture's findings equal its `# expect:` markers, exactly, both ways."""

from __future__ import annotations

import os

import pytest
from conftest import FIXTURES, ROOT, expected_markers

from evalguard.pipeline import check_paths

SINGLE = sorted(p for p in FIXTURES.glob("*.py"))
PROJECTS = sorted(p for p in (FIXTURES / "projects").iterdir() if p.is_dir())

# Real bugs the static analysis does not see yet (documented limits). Strict: if one starts being
# found, the test fails and the entry must go.
KNOWN_MISSES: dict[str, str] = {}


def _known_miss(path):
    reason = KNOWN_MISSES.get(path.name)
    return pytest.param(path, marks=pytest.mark.xfail(strict=True, reason=reason)) if reason else path


def found(paths: list[str]) -> set[tuple[str, int, str]]:
    result = check_paths(paths)
    assert result.errors == []
    return {(os.path.normpath(f.path), f.line, f.code) for f in result.findings}


@pytest.mark.parametrize("path", [_known_miss(p) for p in SINGLE], ids=lambda p: p.name)
def test_single_file_fixture(path, in_root):
    rel = path.relative_to(ROOT)
    assert found([str(rel)]) == expected_markers([rel])


@pytest.mark.parametrize("project", [_known_miss(p) for p in PROJECTS], ids=lambda p: p.name)
def test_project_fixture(project, in_root):
    rel = project.relative_to(ROOT)
    files = sorted(rel.rglob("*.py"))
    assert files, "a project fixture has Python files"
    assert found([str(rel)]) == expected_markers(files)


def notebook_expectations() -> set[tuple[str, int, int, str]]:
    """(path, cell, line, code) from the `.expected` sidecars of fixtures/notebooks/*.ipynb."""
    out = set()
    for sidecar in sorted((FIXTURES / "notebooks").glob("*.expected")):
        notebook = os.path.normpath(str(sidecar.relative_to(ROOT).with_suffix(".ipynb")))
        for row in sidecar.read_text(encoding="utf-8").split("\n"):
            if row.strip():
                _, cell, _, line, code = row.split()
                out.add((notebook, int(cell), int(line), code))
    return out


def test_whole_fixture_tree_lists_only_marked_findings(in_root):
    files = sorted(FIXTURES.relative_to(ROOT).rglob("*.py"))
    missed = sorted(f for f in files if any(part in KNOWN_MISSES for part in f.parts))
    result = check_paths(["fixtures"])
    assert result.errors == []
    in_files = {(os.path.normpath(f.path), f.line, f.code) for f in result.findings if not f.cell}
    in_cells = {(os.path.normpath(f.path), f.cell, f.line, f.code) for f in result.findings if f.cell}
    assert in_files == expected_markers(files) - expected_markers(missed)
    assert in_cells == notebook_expectations()
    assert in_cells, "the notebook fixtures have findings"


def test_fixture_suite_has_both_variants():
    names = [p.name for p in SINGLE] + [p.name for p in PROJECTS]
    assert len(names) >= 25
    assert sum("_bug" in n for n in names) >= 10
    assert sum(n.endswith("_ok.py") or n.endswith("_ok") for n in names) >= 10
