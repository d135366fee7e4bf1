"""Rule pages (rules/EGxxx.md) and the pieces of them that reports quote.

A page is looked up first as package data (`evalguard.rules_pages`, for installed wheels) and then in
the `rules/` folder of a source checkout, next to the package. Every function returns None (never
raises) when a page or section is missing, so reports still work without the pages.
"""

from __future__ import annotations

import re
from functools import cache

from evalguard.rules_catalog import rule_page as catalog_rule_page

DOCS_URL = "https://github.com/evalguard/evalguard/blob/main/rules/{code}.md"

_CODE = re.compile(r"EG\d{3}")
_ABBREVIATIONS = frozenset({"e.g.", "i.e.", "cf.", "vs.", "(e.g.", "(i.e.", "(cf."})
_ASIDE = re.compile(r"\s*\(here\b[^()]*(?:\([^()]*\)[^()]*)*\)")


def rule_url(code: str) -> str:
    """Absolute link to a rule's page (SARIF's helpUri must not be relative)."""
    return DOCS_URL.format(code=code)


@cache
def rule_page(code: str) -> str | None:
    """The Markdown text of the page for `code` (e.g. "EG001"), or None when there is none."""
    if not _CODE.fullmatch(code):
        return None
    try:
        return catalog_rule_page(code)
    except (OSError, UnicodeDecodeError, ValueError):
        return None


def page_section(code: str, heading: str) -> str | None:
    """The text under `## {heading}` up to the next `## ` heading, stripped; None if absent."""
    page = rule_page(code)
    if page is None:
        return None
    lines = page.splitlines()
    target = f"## {heading}".rstrip()
    for i, line in enumerate(lines):
        if line.rstrip() == target:
            body = []
            for rest in lines[i + 1 :]:
                if rest.startswith("## "):
                    break
                body.append(rest)
            text = "\n".join(body).strip()
            return text or None
    return None


def first_paragraph(code: str) -> str | None:
    """The page's introduction: the first paragraph after the `# EGxxx: name` title, on one line."""
    page = rule_page(code)
    if page is None:
        return None
    paragraph: list[str] = []
    for line in page.splitlines():
        stripped = line.strip()
        if stripped.startswith("#"):
            if paragraph:
                break
            continue
        if not stripped:
            if paragraph:
                break
            continue
        paragraph.append(stripped)
    return " ".join(paragraph) or None


def fix_hint(code: str) -> str | None:
    """The first sentence of the page's "How to fix" section, on one line."""
    section = page_section(code, "How to fix")
    if section is None:
        return None
    paragraph = " ".join(section.split("\n\n", 1)[0].split())
    # "(here, the missing `:` ...)" points at the page's own example: not about the reader's code.
    paragraph = _ASIDE.sub("", paragraph)
    return first_sentence(paragraph)


def first_sentence(text: str) -> str:
    """Text up to the first `.`, `!` or `?` that ends a sentence: outside `code` and brackets, and
    followed by a space and a capital letter or a backtick, and not an abbreviation such as `e.g.`."""
    depth = 0
    in_code = False
    for i, ch in enumerate(text):
        if ch == "`":
            in_code = not in_code
        elif in_code:
            continue
        elif ch in "([{":
            depth += 1
        elif ch in ")]}":
            depth = max(0, depth - 1)
        elif ch in ".!?" and depth == 0:
            rest = text[i + 1 :]
            word = text[: i + 1].rsplit(None, 1)[-1].lower()
            if rest[:1] == " " and re.match(r"\s+[A-Z`]", rest) and word not in _ABBREVIATIONS:
                return text[: i + 1]
    return text
