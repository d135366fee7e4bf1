"""--select / --ignore: rule codes or prefixes (`EG00`, `EG001`, `ALL`)."""

from __future__ import annotations

from collections.abc import Iterable

from evalguard.rules_catalog import RULES


class SelectionError(ValueError):
    pass


def parse_codes(values: Iterable[str]) -> list[str]:
    """Split comma-separated values and validate each as a code or code prefix."""
    out: list[str] = []
    for value in values:
        for part in value.split(","):
            code = part.strip().upper()
            if not code:
                continue
            if code != "ALL" and not any(rule.startswith(code) for rule in RULES):
                raise SelectionError(f"unknown rule code or prefix: {part.strip()!r}")
            out.append(code)
    return out


def enabled_codes(select: list[str], ignore: list[str]) -> frozenset[str]:
    chosen = select or ["ALL"]

    def matches(code: str, patterns: list[str]) -> bool:
        return any(p == "ALL" or code.startswith(p) for p in patterns)

    return frozenset(code for code in RULES if matches(code, chosen) and not matches(code, ignore))
