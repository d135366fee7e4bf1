"""Which references a function body treats as modules: the names and `self.x` paths that have a
module-only method called on them (`m.parameters()`, `self.net.eval()`).

It depends on the body alone, so it is computed once while lowering (in the parse workers, and
kept in the facts cache) rather than on every analysis of the function.
"""

from __future__ import annotations

from evalguard.analysis.knowledge import MODULE_EVIDENCE_METHODS
from evalguard.parsing import ir
from evalguard.parsing.ir import path_text


def module_evidence_names(body: tuple[ir.Stmt, ...]) -> frozenset[str]:
    found: set[str] = set()

    def visit_expr(e: object) -> None:
        if isinstance(e, ir.Call):
            if isinstance(e.func, ir.Attr) and e.func.attr in MODULE_EVIDENCE_METHODS:
                text = path_text(e.func.value)
                if text:
                    found.add(text)
            visit_expr(e.func)
            for a in e.args:
                visit_expr(a)
            for _, v in e.kwargs:
                visit_expr(v)
        elif isinstance(e, ir.Attr):
            visit_expr(e.value)
        elif isinstance(e, (ir.Seq, ir.Other)):
            for c in e.elts if isinstance(e, ir.Seq) else e.children:
                visit_expr(c)
        elif isinstance(e, ir.Subscript):
            visit_expr(e.value)
            visit_expr(e.index)
        elif isinstance(e, (ir.Starred, ir.Not)):
            visit_expr(e.value if isinstance(e, ir.Starred) else e.operand)
        elif isinstance(e, ir.IfExp):
            visit_expr(e.test)
            visit_expr(e.body)
            visit_expr(e.orelse)

    def visit(stmts: tuple[ir.Stmt, ...]) -> None:
        for s in stmts:
            for name in ("expr", "value", "test", "iter", "subject"):
                sub = getattr(s, name, None)
                if sub is not None and not isinstance(sub, (str, int)):
                    visit_expr(sub)
            if isinstance(s, ir.With):
                for ctx_expr, _ in s.items:
                    visit_expr(ctx_expr)
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
    return frozenset(found)
