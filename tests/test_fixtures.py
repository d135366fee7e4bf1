"""Every fixture's findings equal its `# expect:` markers, exactly, both ways."""

from __future__ import annotations

import os

import pytest
from conftest import FIXTURES, ROOT, expected_markers

from evalguard.pipeline import check_paths

SINGLE = sorted(p for p in FIXTURES.glob("*.py"))
PROJECTS = sorted(p for p in (FIXTURES / "projects").iterdir() if p.is_dir())


def found(paths: list[str]) -> set[tuple[str, int, str]]:
    result = check_paths(paths)
    assert result.errors == []
    return {(os.path.normpath(f.path), f.line, f.code) for f in result.findings}


@pytest.mark.parametrize("path", SINGLE, ids=lambda p: p.name)
def test_single_file_fixture(path, in_root):
    rel = path.relative_to(ROOT)
    assert found([str(rel)]) == expected_markers([rel])


@pytest.mark.parametrize("project", PROJECTS, ids=lambda p: p.name)
def test_project_fixture(project, in_root):
    rel = project.relative_to(ROOT)
    files = sorted(rel.rglob("*.py"))
    assert files, "a project fixture has Python files"
    assert found([str(rel)]) == expected_markers(files)


def test_whole_fixture_tree_lists_only_marked_findings(in_root):
    files = sorted(FIXTURES.relative_to(ROOT).rglob("*.py"))
    assert found(["fixtures"]) == expected_markers(files)


def test_fixture_suite_has_both_variants():
    names = [p.name for p in SINGLE] + [p.name for p in PROJECTS]
    assert len(names) >= 25
    assert sum("_bug" in n for n in names) >= 10
    assert sum(n.endswith("_ok.py") or n.endswith("_ok") for n in names) >= 10
