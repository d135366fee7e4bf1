"""Every rule page's examples behave as the page says: "Example" yields this rule only, "Use instead" nothing."""

from __future__ import annotations

import re

import pytest
from conftest import ROOT

from evalguard.pipeline import check_paths
from evalguard.rules_catalog import RULES

PAGES = sorted((ROOT / "rules").glob("EG*.md"))
SECTIONS = ("## Why is this bad?", "## Example", "## Use instead", "## How to fix", "## Known limits")


def python_block(page: str, heading: str) -> str:
    section = page.split(heading, 1)[1]
    match = re.search(r"```python\n(.*?)```", section, re.S)
    assert match, f"no python block under {heading}"
    return match.group(1)


def findings_for(tmp_path, code: str) -> list:
    path = tmp_path / "example.py"
    path.write_text(code, encoding="utf-8")
    return check_paths([str(path)]).findings


def test_pages_exist_for_implemented_rules():
    assert {p.stem for p in PAGES} >= {"EG000", "EG001", "EG002", "EG003"}


@pytest.mark.parametrize("page", PAGES, ids=lambda p: p.stem)
def test_page_structure(page):
    text = page.read_text(encoding="utf-8")
    code = page.stem
    assert text.startswith(f"# {code}: {RULES[code].name}\n")
    positions = [text.index(s) for s in SECTIONS]
    assert positions == sorted(positions)


@pytest.mark.parametrize("page", PAGES, ids=lambda p: p.stem)
def test_bad_example_yields_exactly_this_rule(page, tmp_path):
    found = findings_for(tmp_path, python_block(page.read_text(encoding="utf-8"), "## Example"))
    assert found, "the bad example produces no finding"
    assert {f.code for f in found} == {page.stem}


@pytest.mark.parametrize("page", PAGES, ids=lambda p: p.stem)
def test_good_example_is_clean(page, tmp_path):
    found = findings_for(tmp_path, python_block(page.read_text(encoding="utf-8"), "## Use instead"))
    assert found == []
