"""The fast `ast` front end and the LibCST front end lower every fixture to the same IR."""

from __future__ import annotations

import pytest
from conftest import FIXTURES

from evalguard.parsing.source import facts_from_source

ALL = sorted(FIXTURES.rglob("*.py"))


@pytest.mark.parametrize("path", ALL, ids=lambda p: str(p.relative_to(FIXTURES)))
def test_ast_and_libcst_lower_to_the_same_ir(path):
    data = path.read_bytes()
    via_ast = facts_from_source(data, str(path), "m", frontend="ast")
    via_cst = facts_from_source(data, str(path), "m", frontend="libcst")
    assert via_ast.failure is None and via_cst.failure is None
    assert via_ast.classes == via_cst.classes
    assert via_ast.imports == via_cst.imports
    assert via_ast.toplevel_names == via_cst.toplevel_names
    for a, c in zip(via_ast.functions, via_cst.functions, strict=True):
        assert a == c, a.qualname


NEW_SYNTAX = '''
type Batch[T] = list[T]

def f[T](model: T) -> T:
    match model:
        case _:
            pass
    return model

x = f"{'nested' + f"{1}"}"
'''


def test_newer_syntax_goes_through_libcst():
    facts = facts_from_source(NEW_SYNTAX, "new.py", "new")
    assert facts.failure is None
    assert [f.qualname for f in facts.functions] == ["f", "<module>"]


def test_invalid_code_reports_cpython_message():
    facts = facts_from_source("def f(:\n    pass\n", "bad.py", "bad")
    assert facts.failure is not None
    assert facts.failure.message.startswith("SyntaxError")
    assert facts.failure.line == 1
