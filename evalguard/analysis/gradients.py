"""Hand-written weight updates: `p -= lr * p.grad`, `p.data.add_(p.grad, alpha=-lr)`.

A function that runs backward() and reads gradients but never steps an optimizer is inspecting
gradients (Fisher information, gradient similarity, saliency, adversarial inputs), unless it
applies them itself: a tensor written from its own `.grad` is an optimizer step done by hand.
"""

from __future__ import annotations

from evalguard.parsing import ir


def updates_from_own_grad(body: tuple[ir.Stmt, ...]) -> bool:
    """Some statement writes a tensor from its own gradient (an assignment or an in-place
    method, `add_`/`sub_`/`copy_`..., whose target and `.grad` read share a root name)."""
    for stmt in ir.walk_statements(body):
        t = type(stmt)
        if t is ir.Assign:
            grads = _grad_roots(stmt.value)
            if grads and any(ir.root_name(target) in grads for target in stmt.targets):
                return True
            exprs: tuple[ir.Expr | None, ...] = (stmt.value,)
        elif t is ir.ExprStmt:
            exprs = (stmt.expr,)
        elif t is ir.Return:
            exprs = (stmt.value,)
        else:
            continue
        for expr in exprs:
            for call in ir.walk_expr(expr):
                if type(call) is not ir.Call or type(call.func) is not ir.Attr:
                    continue
                name = call.func.attr
                if not name.endswith("_") or name.startswith("zero_"):
                    continue
                read = set().union(*(_grad_roots(a) for a in (*call.args, *(v for _, v in call.kwargs))))
                if ir.root_name(call.func.value) in read:
                    return True
    return False


def _grad_roots(expr: ir.Expr | None) -> set[str]:
    """Names whose `.grad` the expression reads (`p` in `lr * p.grad.data`)."""
    out = set()
    for e in ir.walk_expr(expr):
        if type(e) is ir.Attr and e.attr == "grad":
            root = ir.root_name(e.value)
            if root is not None:
                out.add(root)
    return out
