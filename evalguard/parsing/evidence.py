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
from evalguard.parsing.ir import dotted_name, path_text

# Longer string constants are prose or data, never an attribute name (`getattr(m, "eval")`).
_MAX_NAME_STRING = 64


def body_facts(body: tuple[ir.Stmt, ...], decorators: tuple[ir.Expr, ...] = ()) -> tuple[frozenset[str], bool]:
    """(module evidence names, mentions a mode word) for a function's body and decorators."""
    walk = Walk()
    walk.block(body)
    for dec in decorators:
        walk.expr(dec, False)
    return frozenset(walk.evidence), any(mode_word(n) for n in walk.names)


class Walk:
    """One pass over a body, by exact node type (every function's IR is walked once, right
    after lowering: an attribute-probing walk here was a quarter of the lowering time)."""

    def __init__(self) -> None:
        self.evidence: set[str] = set()
        self.names: set[str] = set()

    def expr(self, e: object, evidence: bool = True) -> None:
        t = type(e)
        if t is ir.Name:
            self.names.add(e.id)
        elif t is ir.Attr:
            self.names.add(e.attr)
            self.expr(e.value, evidence)
        elif t is ir.Call:
            func = e.func
            if evidence and type(func) is ir.Attr and func.attr in MODULE_EVIDENCE_METHODS:
                text = path_text(func.value)
                if text:
                    self.evidence.add(text)
            self.expr(func, evidence)
            for a in e.args:
                self.expr(a, evidence)
            for _, v in e.kwargs:
                self.expr(v, evidence)
        elif t is ir.Const:
            if type(e.value) is str and len(e.value) <= _MAX_NAME_STRING:
                self.names.add(e.value)
        elif t is ir.Other:
            for c in e.children:
                self.expr(c, evidence)
        elif t is ir.Seq:
            for c in e.elts:
                self.expr(c, evidence)
        elif t is ir.Subscript:
            self.expr(e.value, evidence)
            self.expr(e.index, evidence)
        elif t is ir.Starred:
            self.expr(e.value, evidence)
        elif t is ir.Not:
            self.expr(e.operand, evidence)
        elif t is ir.IfExp:
            self.expr(e.test, evidence)
            self.expr(e.body, evidence)
            self.expr(e.orelse, evidence)

    def block(self, stmts: tuple[ir.Stmt, ...]) -> None:
        expr = self.expr
        for s in stmts:
            t = type(s)
            if t is ir.ExprStmt:
                expr(s.expr)
            elif t is ir.Assign:
                expr(s.value)
                # Targets count for the mode words (`m.training = False`), not as module evidence,
                # except a layer replacing a local model's head (`model.fc = nn.Linear(...)`): its
                # holder is a module. (Not on `self`: a trainer holds layers too.)
                for target in s.targets:
                    expr(target, False)
                    if type(target) is ir.Attr and type(target.value) is ir.Name and target.value.id != "self" and _builds_layer(s.value):
                        self.evidence.add(target.value.id)
            elif t is ir.If:
                expr(s.test)
                self.block(s.body)
                self.block(s.orelse)
            elif t is ir.Return:
                if s.value is not None:
                    expr(s.value)
            elif t is ir.Loop:
                if s.iter is not None:
                    expr(s.iter)
                if s.test is not None:
                    expr(s.test)
                if s.target is not None:
                    expr(s.target, False)
                self.block(s.body)
                self.block(s.orelse)
            elif t is ir.With:
                for ctx_expr, target in s.items:
                    expr(ctx_expr)
                    if target is not None:
                        expr(target, False)
                self.block(s.body)
            elif t is ir.Try:
                self.block(s.body)
                for handler in s.handlers:
                    self.block(handler)
                self.block(s.orelse)
                self.block(s.finalbody)
            elif t is ir.Match:
                expr(s.subject)
                for case in s.cases:
                    self.block(case)
            elif t is ir.Delete:
                for target in s.targets:
                    expr(target, False)


def _builds_layer(value: object) -> bool:
    """`nn.Linear(...)`, `torch.nn.Sequential(...)`: a torch.nn layer built in place."""
    if type(value) is not ir.Call:
        return False
    name = dotted_name(value.func) or ""
    head, _, last = name.rpartition(".")
    return head in ("nn", "torch.nn") and last[:1].isupper()
