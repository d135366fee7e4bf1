"""What a function body says on its own, found in one walk while lowering (in the parse workers,
and kept in the facts cache) rather than on every analysis of the function:

- which references it treats as modules: the names and `self.x` paths that have a module-only
  method called on them (`m.parameters()`, `self.net.eval()`);
- whether it mentions anything the mode analysis reacts to (`knowledge.mode_word`): the
  prefilter's per-function test (see `analysis.relevance`).
"""

from __future__ import annotations

from evalguard.analysis.knowledge import MODULE_EVIDENCE_METHODS, mode_word
from evalguard.parsing import ir
from evalguard.parsing.ir import path_text

# Longer string constants are prose or data, never an attribute name (`getattr(m, "eval")`).
_MAX_NAME_STRING = 64


def body_facts(body: tuple[ir.Stmt, ...], decorators: tuple[ir.Expr, ...] = ()) -> tuple[frozenset[str], bool]:
    """(module evidence names, mentions a mode word) for a function's body and decorators."""
    found: set[str] = set()
    names: set[str] = set()

    def visit_expr(e: object, evidence: bool = True) -> None:
        if isinstance(e, ir.Name):
            names.add(e.id)
        elif isinstance(e, ir.Call):
            if evidence and isinstance(e.func, ir.Attr) and e.func.attr in MODULE_EVIDENCE_METHODS:
                text = path_text(e.func.value)
                if text:
                    found.add(text)
            visit_expr(e.func, evidence)
            for a in e.args:
                visit_expr(a, evidence)
            for _, v in e.kwargs:
                visit_expr(v, evidence)
        elif isinstance(e, ir.Attr):
            names.add(e.attr)
            visit_expr(e.value, evidence)
        elif isinstance(e, ir.Const):
            if type(e.value) is str and len(e.value) <= _MAX_NAME_STRING:
                names.add(e.value)
        elif isinstance(e, (ir.Seq, ir.Other)):
            for c in e.elts if isinstance(e, ir.Seq) else e.children:
                visit_expr(c, evidence)
        elif isinstance(e, ir.Subscript):
            visit_expr(e.value, evidence)
            visit_expr(e.index, evidence)
        elif isinstance(e, (ir.Starred, ir.Not)):
            visit_expr(e.value if isinstance(e, ir.Starred) else e.operand, evidence)
        elif isinstance(e, ir.IfExp):
            visit_expr(e.test, evidence)
            visit_expr(e.body, evidence)
            visit_expr(e.orelse, evidence)

    def visit(stmts: tuple[ir.Stmt, ...]) -> None:
        for s in stmts:
            for name in ("expr", "value", "test", "iter", "subject"):
                sub = getattr(s, name, None)
                if sub is not None and not isinstance(sub, (str, int)):
                    visit_expr(sub)
            # Targets count for the mode words (`m.training = False`), not as module evidence.
            for target in getattr(s, "targets", ()):
                visit_expr(target, False)
            if isinstance(s, ir.Loop) and s.target is not None:
                visit_expr(s.target, False)
            if isinstance(s, ir.With):
                for ctx_expr, target in s.items:
                    visit_expr(ctx_expr)
                    if target is not None:
                        visit_expr(target, False)
            for name in ("body", "orelse", "finalbody"):
                sub = getattr(s, name, None)
                if isinstance(sub, tuple):
                    visit(sub)
            if isinstance(s, ir.Try):
                for h in s.handlers:
                    visit(h)
            if isinstance(s, ir.Match):
                for c in s.cases:
                    visit(c)

    visit(body)
    for dec in decorators:
        visit_expr(dec, False)
    return frozenset(found), any(mode_word(n) for n in names)
