"""stdlib `ast` -> IR lowering: the fast path.

It produces exactly the IR that `lower.py` produces from LibCST (a test checks the two agree on
every fixture), at a small fraction of the cost: CPython's parser gives positions for free, while
LibCST needs a whole-tree metadata pass for them. Files the running interpreter cannot parse
(syntax newer than it) go through LibCST, whose parser knows every version.
"""

from __future__ import annotations

import ast
from collections.abc import Iterable, Sequence

from evalguard.parsing.ir import (
    Assign,
    Attr,
    Break,
    Call,
    Const,
    Continue,
    DefStmt,
    Delete,
    Expr,
    ExprStmt,
    FunctionFacts,
    If,
    IfExp,
    ImportBinding,
    Loc,
    Loop,
    Match,
    Name,
    Not,
    Other,
    Param,
    Raise,
    Return,
    Seq,
    Starred,
    Stmt,
    Subscript,
    Try,
    With,
)
from evalguard.parsing.scopes import DefinitionCollector


class AstLowerer(DefinitionCollector):
    def __init__(self, source: str) -> None:
        super().__init__()
        self._lines = source.splitlines()
        # Most lines are pure ASCII: there byte columns are character columns.
        self._ascii = source.isascii()
        self._non_ascii = set() if self._ascii else {i for i, text in enumerate(self._lines, 1) if not text.isascii()}

    def lower_module(self, tree: ast.Module) -> tuple[FunctionFacts, list[ImportBinding]]:
        return self._define_module(lambda: self._block(tree.body))

    # ------------------------------------------------------------------ positions

    def _col(self, line: int, byte_col: int) -> int:
        """ast columns count UTF-8 bytes; ours count characters (1-based)."""
        if 0 < line <= len(self._lines):
            text = self._lines[line - 1]
            if not text.isascii():
                return len(text.encode("utf-8")[:byte_col].decode("utf-8", errors="replace")) + 1
        return byte_col + 1

    def _loc(self, node: ast.AST) -> Loc:
        line = node.lineno
        end_line = node.end_lineno or line
        if self._ascii or (line not in self._non_ascii and end_line not in self._non_ascii):
            return Loc(line, node.col_offset + 1, end_line, (node.end_col_offset or 0) + 1)
        return Loc(line, self._col(line, node.col_offset), end_line, self._col(end_line, node.end_col_offset or 0))

    def _name_loc(self, node: ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef) -> Loc:
        line = node.lineno
        text = self._lines[line - 1] if 0 < line <= len(self._lines) else ""
        keyword = "class" if isinstance(node, ast.ClassDef) else "def"
        start = text.find(keyword)
        col = text.find(node.name, start + len(keyword) if start >= 0 else 0)
        if col < 0:
            return Loc(line, 1, line, 1)
        return Loc(line, col + 1, line, col + 1 + len(node.name))

    # ------------------------------------------------------------------ statements

    def _block(self, stmts: Iterable[ast.stmt]) -> tuple[Stmt, ...]:
        out: list[Stmt] = []
        for stmt in stmts:
            self._stmt(stmt, out)
        return tuple(out)

    def _stmt(self, node: ast.stmt, out: list[Stmt]) -> None:
        scope = self._scopes[-1]
        loc = self._loc(node)
        t = type(node)  # exact types: CPython's parser builds no subclasses
        if t is ast.Expr:
            out.append(ExprStmt(self._expr(node.value), loc))
        elif t is ast.Assign:
            value = self._expr(node.value)
            targets = tuple(self._target(t) for t in node.targets)
            for target in targets:
                scope.bind_target(target)
            out.append(Assign(targets, value, loc))
        elif t is ast.AnnAssign:
            target = self._expr(node.target)
            if node.value is not None:
                scope.bind_target(target)
                out.append(Assign((target,), self._expr(node.value), loc))
        elif t is ast.AugAssign:
            target = self._expr(node.target)
            scope.bind_target(target)
            out.append(Assign((target,), Other((target, self._expr(node.value))), loc))
        elif t is ast.Return:
            out.append(Return(self._expr(node.value) if node.value is not None else None, loc))
        elif t is ast.Raise:
            if node.exc is not None:
                out.append(ExprStmt(self._expr(node.exc), loc))
            out.append(Raise(loc))
        elif t is ast.Break:
            out.append(Break(loc))
        elif t is ast.Continue:
            out.append(Continue(loc))
        elif t is ast.Delete:
            targets = [self._expr(t) for t in node.targets]
            target = targets[0] if len(targets) == 1 else Seq(tuple(targets))
            out.append(Delete((target,), loc))
        elif t is ast.Assert:
            # A test of the value, not a bare statement: `assert data.train` reads a property.
            out.append(ExprStmt(Other((self._expr(node.test),)), loc))
        elif t is ast.Global or t is ast.Nonlocal:
            scope.global_names.update(node.names)
        elif t is ast.Import:
            for alias in node.names:
                if alias.asname is not None:
                    binding = ImportBinding(alias.asname, alias.name, None, 0)
                else:
                    local = alias.name.split(".")[0]
                    binding = ImportBinding(local, local, None, 0)
                scope.imports.append(binding)
                scope.local_names.add(binding.local)
        elif t is ast.ImportFrom:
            if any(alias.name == "*" for alias in node.names):
                scope.imports.append(ImportBinding("*", node.module or "", "*", node.level or 0))
                return
            for alias in node.names:
                local = alias.asname or alias.name
                scope.imports.append(ImportBinding(local, node.module or "", alias.name, node.level or 0))
                scope.local_names.add(local)
        elif t is ast.If:
            out.append(self._if(node))
        elif t is ast.For or t is ast.AsyncFor:
            target = self._expr(node.target)
            scope.bind_target(target)
            out.append(
                Loop(
                    target=target,
                    iter=self._expr(node.iter),
                    test=None,
                    body=self._block(node.body),
                    orelse=self._block(node.orelse),
                    loc=loc,
                )
            )
        elif t is ast.While:
            out.append(
                Loop(
                    target=None,
                    iter=None,
                    test=self._expr(node.test),
                    body=self._block(node.body),
                    orelse=self._block(node.orelse),
                    loc=loc,
                )
            )
        elif t is ast.With or t is ast.AsyncWith:
            items = []
            for item in node.items:
                target = None
                if item.optional_vars is not None:
                    target = self._expr(item.optional_vars)
                    scope.bind_target(target)
                expr = self._expr(item.context_expr)
                self._note_guard(expr)
                items.append((expr, target))
            out.append(With(items=tuple(items), body=self._block(node.body), loc=loc))
        elif t is ast.Try or t is _TRY_STAR:
            handlers = []
            for handler in node.handlers:
                if handler.name is not None:
                    scope.local_names.add(handler.name)
                if handler.type is not None:
                    self._expr(handler.type)
                handlers.append(self._block(handler.body))
            out.append(
                Try(
                    body=self._block(node.body),
                    handlers=tuple(handlers),
                    orelse=self._block(node.orelse),
                    finalbody=self._block(node.finalbody),
                    loc=loc,
                )
            )
        elif t is ast.FunctionDef or t is ast.AsyncFunctionDef:
            out.append(self._function(node))
        elif t is ast.ClassDef:
            out.append(self._class(node))
        elif t is ast.Match:
            cases = []
            exhaustive = False
            for case in node.cases:
                self._bind_pattern(case.pattern)
                if isinstance(case.pattern, ast.MatchAs) and case.pattern.pattern is None and case.guard is None:
                    exhaustive = True
                cases.append(self._block(case.body))
            out.append(Match(self._expr(node.subject), tuple(cases), exhaustive, loc))

    def _bind_pattern(self, pattern: ast.AST) -> None:
        for child in ast.walk(pattern):
            if isinstance(child, ast.MatchAs) and child.name is not None:
                self._scope.local_names.add(child.name)
            elif isinstance(child, ast.MatchStar) and child.name is not None:
                self._scope.local_names.add(child.name)
            elif isinstance(child, ast.MatchMapping) and child.rest is not None:
                self._scope.local_names.add(child.rest)

    def _if(self, node: ast.If) -> If:
        test = self._expr(node.test)
        body = self._block(node.body)
        if len(node.orelse) == 1 and isinstance(node.orelse[0], ast.If) and self._is_elif(node.orelse[0]):
            orelse: tuple[Stmt, ...] = (self._if(node.orelse[0]),)
        else:
            orelse = self._block(node.orelse)
        return If(test=test, body=body, orelse=orelse, loc=self._loc(node))

    def _is_elif(self, node: ast.If) -> bool:
        line = self._lines[node.lineno - 1] if 0 < node.lineno <= len(self._lines) else ""
        return line.lstrip().startswith("elif")

    # ------------------------------------------------------------------ definitions

    def _params(self, args: ast.arguments) -> tuple[Param, ...]:
        out: list[Param] = []
        positional = [*args.posonlyargs, *args.args]
        first_default = len(positional) - len(args.defaults)
        for i, arg in enumerate(positional):
            kind = "posonly" if i < len(args.posonlyargs) else "pos"
            default = args.defaults[i - first_default] if i >= first_default else None
            out.append(Param(arg.arg, kind, default is not None, _literal_truth(default)))
        if args.vararg is not None:
            out.append(Param(args.vararg.arg, "star", False))
        for arg, default in zip(args.kwonlyargs, args.kw_defaults):
            out.append(Param(arg.arg, "kwonly", default is not None, _literal_truth(default)))
        if args.kwarg is not None:
            out.append(Param(args.kwarg.arg, "dstar", False))
        return tuple(out)

    def _function(self, node: ast.FunctionDef | ast.AsyncFunctionDef) -> DefStmt:
        decorators = tuple(self._expr(d) for d in node.decorator_list)
        # Defaults run in the enclosing scope; LibCST order: positional, keyword-only, pos-only.
        positional = [*node.args.posonlyargs, *node.args.args]
        defaults = dict(zip(positional[len(positional) - len(node.args.defaults) :], node.args.defaults))
        for arg in node.args.args:
            if arg in defaults:
                self._expr(defaults[arg])
        for default in node.args.kw_defaults:
            if default is not None:
                self._expr(default)
        for arg in node.args.posonlyargs:
            if arg in defaults:
                self._expr(defaults[arg])
        return self._define_function(
            node.name, decorators, self._params(node.args), lambda: self._block(node.body), self._name_loc(node)
        )

    def _class(self, node: ast.ClassDef) -> DefStmt:
        bases = tuple(self._expr(b) for b in node.bases)
        for dec in node.decorator_list:
            self._expr(dec)
        return self._define_class(node.name, bases, lambda: self._block(node.body), self._name_loc(node))

    # ------------------------------------------------------------------ expressions

    def _exprs(self, nodes: Sequence[ast.expr]) -> tuple[Expr, ...]:
        return tuple(self._expr(n) for n in nodes)

    def _expr(self, node: ast.expr) -> Expr:
        # By exact type through a table: the lowering's hottest call (an isinstance chain here
        # was a third of the lowering time). CPython's parser builds no subclasses of these.
        if type(node) is ast.Name:
            return Name(node.id)
        lower = _EXPR_LOWERING.get(type(node))
        return lower(self, node) if lower is not None else Other(())

    def _target(self, node: ast.expr) -> Expr:
        # `m.training = False` writes the flag: it is not a read of it (see `_note_attribute`).
        if type(node) is ast.Attribute and node.attr == "training":
            return Attr(self._expr(node.value), node.attr)
        return self._expr(node)

    def _attribute(self, node: ast.Attribute) -> Expr:
        self._note_attribute(node.attr)
        return Attr(self._expr(node.value), node.attr)

    def _call(self, node: ast.Call) -> Expr:
        func = self._expr(node.func)
        args: list[Expr] = []
        kwargs: list[tuple[str, Expr]] = []
        has_star = False
        for arg in node.args:
            if type(arg) is ast.Starred:
                has_star = True
                args.append(Starred(self._expr(arg.value)))
            else:
                args.append(self._expr(arg))
        for kw in node.keywords:
            value = self._expr(kw.value)
            if kw.arg is None:
                has_star = True
                kwargs.append(("**", value))
            else:
                kwargs.append((kw.arg, value))
        self._note_call_name(func)
        return Call(func, tuple(args), tuple(kwargs), self._loc(node), has_star)

    def _constant(self, node: ast.Constant) -> Expr:
        value = node.value
        return Const(None) if type(value) is complex else Const(value)

    def _joined_str(self, node: ast.JoinedStr) -> Expr:
        return Other(tuple(self._expr(v.value) for v in node.values if type(v) is ast.FormattedValue))

    def _sequence(self, node: ast.Tuple | ast.List) -> Expr:
        return Seq(self._exprs(node.elts))

    def _set(self, node: ast.Set) -> Expr:
        return Other(self._exprs(node.elts))

    def _dict(self, node: ast.Dict) -> Expr:
        children: list[Expr] = []
        for key, value in zip(node.keys, node.values):
            if key is not None:
                children.append(self._expr(key))
            children.append(self._expr(value))
        literal = all(type(k) is ast.Constant and type(k.value) is str for k in node.keys)
        return Other(tuple(children), keys=tuple(k.value for k in node.keys) if literal and node.keys else None)  # type: ignore[union-attr]

    def _subscript(self, node: ast.Subscript) -> Expr:
        value = self._expr(node.value)
        indexes = self._slice_parts(node.slice)
        index = indexes[0] if len(indexes) == 1 else Other(tuple(indexes))
        return Subscript(value, index)

    def _starred(self, node: ast.Starred) -> Expr:
        return Starred(self._expr(node.value))

    def _if_exp(self, node: ast.IfExp) -> Expr:
        return IfExp(self._expr(node.test), self._expr(node.body), self._expr(node.orelse))

    def _unary(self, node: ast.UnaryOp) -> Expr:
        operand = self._expr(node.operand)
        return Not(operand) if type(node.op) is ast.Not else Other((operand,))

    def _binary(self, node: ast.BinOp) -> Expr:
        return Other((self._expr(node.left), self._expr(node.right)))

    def _boolean(self, node: ast.BoolOp) -> Expr:
        # LibCST nests boolean operations pairwise, left-associative.
        values = [self._expr(v) for v in node.values]
        out = values[0]
        for v in values[1:]:
            out = Other((out, v), either=True)
        return out

    def _compare(self, node: ast.Compare) -> Expr:
        return Other((self._expr(node.left), *(self._expr(c) for c in node.comparators)))

    def _await(self, node: ast.Await) -> Expr:
        return self._expr(node.value)

    def _named(self, node: ast.NamedExpr) -> Expr:
        target = self._expr(node.target)
        self._scope.bind_target(target)
        return self._expr(node.value)

    def _lambda(self, node: ast.Lambda) -> Expr:
        for default in (*node.args.defaults, *(d for d in node.args.kw_defaults if d is not None)):
            self._expr(default)
        return self._define_lambda(self._params(node.args), lambda: self._expr(node.body), self._loc(node))

    def _yield(self, node: ast.Yield | ast.YieldFrom) -> Expr:
        return Other((), True) if node.value is None else Other((self._expr(node.value),), True)

    def _slice(self, node: ast.Slice) -> Expr:
        return Other(tuple(self._slice_parts(node)))

    def _slice_parts(self, node: ast.expr) -> list[Expr]:
        """Index expressions of a subscript, flattened as LibCST lists its slice elements."""
        if isinstance(node, ast.Tuple) and any(isinstance(e, ast.Slice) for e in node.elts) or (
            isinstance(node, ast.Tuple) and node.elts and not _parenthesised(node, self._lines)
        ):
            out: list[Expr] = []
            for elt in node.elts:
                out.extend(self._slice_parts(elt) if isinstance(elt, ast.Slice) else [self._expr(elt)])
            return out
        if isinstance(node, ast.Slice):
            return [self._expr(p) for p in (node.lower, node.upper, node.step) if p is not None]
        return [self._expr(node)]

    def _comprehension(self, node: ast.expr) -> Expr:
        children: list[Expr] = []
        for gen in node.generators:  # type: ignore[attr-defined]
            children.append(self._expr(gen.iter))
            self._scope.bind_target(self._expr(gen.target))
            children.extend(self._expr(cond) for cond in gen.ifs)
        if isinstance(node, ast.DictComp):
            children.append(self._expr(node.key))
            children.append(self._expr(node.value))
        else:
            children.append(self._expr(node.elt))  # type: ignore[attr-defined]
        return Other(tuple(children))


def _parenthesised(node: ast.Tuple, lines: list[str]) -> bool:
    """`x[(a, b)]` (one tuple index) versus `x[a, b]` (two indexes)."""
    if not (0 < node.lineno <= len(lines)):
        return False
    text = lines[node.lineno - 1].encode("utf-8")
    return text[node.col_offset : node.col_offset + 1] == b"("


_TRY_STAR = getattr(ast, "TryStar", ast.Try)  # Python 3.11+

_EXPR_LOWERING = {
    ast.Attribute: AstLowerer._attribute,
    ast.Call: AstLowerer._call,
    ast.Constant: AstLowerer._constant,
    ast.JoinedStr: AstLowerer._joined_str,
    ast.Tuple: AstLowerer._sequence,
    ast.List: AstLowerer._sequence,
    ast.Set: AstLowerer._set,
    ast.Dict: AstLowerer._dict,
    ast.Subscript: AstLowerer._subscript,
    ast.Starred: AstLowerer._starred,
    ast.IfExp: AstLowerer._if_exp,
    ast.UnaryOp: AstLowerer._unary,
    ast.BinOp: AstLowerer._binary,
    ast.BoolOp: AstLowerer._boolean,
    ast.Compare: AstLowerer._compare,
    ast.Await: AstLowerer._await,
    ast.NamedExpr: AstLowerer._named,
    ast.ListComp: AstLowerer._comprehension,
    ast.SetComp: AstLowerer._comprehension,
    ast.GeneratorExp: AstLowerer._comprehension,
    ast.DictComp: AstLowerer._comprehension,
    ast.Lambda: AstLowerer._lambda,
    ast.Yield: AstLowerer._yield,
    ast.YieldFrom: AstLowerer._yield,
    ast.Slice: AstLowerer._slice,
}


def _literal_truth(node: ast.expr | None) -> bool | None:
    """The truth value of a literal default (`True`, `None`, `0`, `"x"`), else None."""
    if type(node) is ast.Constant and type(node.value) in (bool, int, float, str, type(None)):
        return bool(node.value)
    return None
