"""LibCST -> IR lowering. The only module that touches LibCST nodes."""

from __future__ import annotations

from collections.abc import Iterable, Sequence

import libcst as cst
from libcst.metadata import MetadataWrapper, PositionProvider

from evalguard.parsing.ir import (
    NO_LOC,
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


class Lowerer(DefinitionCollector):
    def __init__(self, wrapper: MetadataWrapper) -> None:
        super().__init__()
        self._positions = wrapper.resolve(PositionProvider)
        self.module = wrapper.module

    def lower_module(self) -> tuple[FunctionFacts, list[ImportBinding]]:
        return self._define_module(lambda: self._block(self.module.body))

    def _loc(self, node: cst.CSTNode) -> Loc:
        rng = self._positions.get(node)
        if rng is None:
            return NO_LOC
        return Loc(rng.start.line, rng.start.column + 1, rng.end.line, rng.end.column + 1)

    # ------------------------------------------------------------------ statements

    def _block(self, stmts: Iterable[cst.CSTNode]) -> tuple[Stmt, ...]:
        out: list[Stmt] = []
        for stmt in stmts:
            self._stmt(stmt, out)
        return tuple(out)

    def _suite(self, suite: cst.BaseSuite) -> tuple[Stmt, ...]:
        if isinstance(suite, cst.IndentedBlock):
            return self._block(suite.body)
        if isinstance(suite, cst.SimpleStatementSuite):
            out: list[Stmt] = []
            for small in suite.body:
                self._small(small, out, self._loc(small))
            return tuple(out)
        return ()

    def _stmt(self, node: cst.CSTNode, out: list[Stmt]) -> None:
        if isinstance(node, cst.SimpleStatementLine):
            for small in node.body:
                self._small(small, out, self._loc(small))
        elif isinstance(node, cst.If):
            out.append(self._if(node))
        elif isinstance(node, cst.For):
            target = self._expr(node.target)
            self._scope.bind_target(target)
            out.append(
                Loop(
                    target=target,
                    iter=self._expr(node.iter),
                    test=None,
                    body=self._suite(node.body),
                    orelse=self._suite(node.orelse.body) if node.orelse else (),
                    loc=self._loc(node),
                )
            )
        elif isinstance(node, cst.While):
            out.append(
                Loop(
                    target=None,
                    iter=None,
                    test=self._expr(node.test),
                    body=self._suite(node.body),
                    orelse=self._suite(node.orelse.body) if node.orelse else (),
                    loc=self._loc(node),
                )
            )
        elif isinstance(node, cst.With):
            items = []
            for item in node.items:
                target = None
                if item.asname is not None:
                    target = self._expr(item.asname.name)
                    self._scope.bind_target(target)
                expr = self._expr(item.item)
                self._note_guard(expr)
                items.append((expr, target))
            out.append(With(items=tuple(items), body=self._suite(node.body), loc=self._loc(node)))
        elif isinstance(node, (cst.Try, cst.TryStar)):
            handlers = []
            for handler in node.handlers:
                if handler.name is not None and isinstance(handler.name.name, cst.Name):
                    self._scope.local_names.add(handler.name.name.value)
                if handler.type is not None:
                    self._expr(handler.type)
                handlers.append(self._suite(handler.body))
            out.append(
                Try(
                    body=self._suite(node.body),
                    handlers=tuple(handlers),
                    orelse=self._suite(node.orelse.body) if node.orelse else (),
                    finalbody=self._suite(node.finalbody.body) if node.finalbody else (),
                    loc=self._loc(node),
                )
            )
        elif isinstance(node, cst.FunctionDef):
            out.append(self._function(node))
        elif isinstance(node, cst.ClassDef):
            out.append(self._class(node))
        elif isinstance(node, cst.Match):
            cases = []
            exhaustive = False
            for case in node.cases:
                self._bind_pattern(case.pattern)
                if isinstance(case.pattern, cst.MatchAs) and case.pattern.pattern is None and case.guard is None:
                    exhaustive = True
                cases.append(self._suite(case.body))
            out.append(Match(self._expr(node.subject), tuple(cases), exhaustive, self._loc(node)))

    def _bind_pattern(self, pattern: cst.CSTNode) -> None:
        # Names captured by a match pattern are locals of this scope.
        for child in _walk(pattern):
            if isinstance(child, cst.MatchAs) and child.name is not None:
                self._scope.local_names.add(child.name.value)
            elif isinstance(child, cst.MatchStar) and child.name is not None:
                self._scope.local_names.add(child.name.value)

    def _if(self, node: cst.If) -> If:
        orelse: tuple[Stmt, ...] = ()
        if isinstance(node.orelse, cst.If):
            orelse = (self._if(node.orelse),)
        elif isinstance(node.orelse, cst.Else):
            orelse = self._suite(node.orelse.body)
        return If(test=self._expr(node.test), body=self._suite(node.body), orelse=orelse, loc=self._loc(node))

    def _small(self, node: cst.CSTNode, out: list[Stmt], loc: Loc) -> None:
        scope = self._scope
        if isinstance(node, cst.Expr):
            out.append(ExprStmt(self._expr(node.value), loc))
        elif isinstance(node, cst.Assign):
            value = self._expr(node.value)
            targets = tuple(self._target(t.target) for t in node.targets)
            for target in targets:
                scope.bind_target(target)
            out.append(Assign(targets, value, loc))
        elif isinstance(node, cst.AnnAssign):
            target = self._expr(node.target)
            if node.value is not None:
                scope.bind_target(target)
                out.append(Assign((target,), self._expr(node.value), loc))
        elif isinstance(node, cst.AugAssign):
            target = self._expr(node.target)
            scope.bind_target(target)
            # `x += y` rebinds x to an opaque value computed from both.
            out.append(Assign((target,), Other((target, self._expr(node.value))), loc))
        elif isinstance(node, cst.Return):
            out.append(Return(self._expr(node.value) if node.value is not None else None, loc))
        elif isinstance(node, cst.Raise):
            if node.exc is not None:
                out.append(ExprStmt(self._expr(node.exc), loc))
            out.append(Raise(loc))
        elif isinstance(node, cst.Break):
            out.append(Break(loc))
        elif isinstance(node, cst.Continue):
            out.append(Continue(loc))
        elif isinstance(node, cst.Del):
            out.append(Delete((self._expr(node.target),), loc))
        elif isinstance(node, cst.Assert):
            # A test of the value, not a bare statement: `assert data.train` reads a property.
            out.append(ExprStmt(Other((self._expr(node.test),)), loc))
        elif isinstance(node, cst.Global):
            scope.global_names.update(n.name.value for n in node.names)
        elif isinstance(node, cst.Nonlocal):
            scope.global_names.update(n.name.value for n in node.names)
        elif isinstance(node, cst.Import):
            for alias in node.names:
                module = _attr_chain(alias.name)
                if alias.asname is not None and isinstance(alias.asname.name, cst.Name):
                    local = alias.asname.name.value
                    binding = ImportBinding(local, module, None, 0)
                else:
                    # `import a.b` binds `a` to package `a`.
                    local = module.split(".")[0]
                    binding = ImportBinding(local, local, None, 0)
                scope.imports.append(binding)
                scope.local_names.add(local)
        elif isinstance(node, cst.ImportFrom):
            module = _attr_chain(node.module) if node.module is not None else ""
            level = len(node.relative)
            if isinstance(node.names, cst.ImportStar):
                scope.imports.append(ImportBinding("*", module, "*", level))
                return
            for alias in node.names:
                name = _attr_chain(alias.name)
                local = name
                if alias.asname is not None and isinstance(alias.asname.name, cst.Name):
                    local = alias.asname.name.value
                scope.imports.append(ImportBinding(local, module, name, level))
                scope.local_names.add(local)

    # ------------------------------------------------------------------ definitions

    def _params(self, params: cst.Parameters) -> tuple[Param, ...]:
        out: list[Param] = []
        for p in params.posonly_params:
            out.append(Param(p.name.value, "posonly", p.default is not None, _literal_truth(p.default)))
        for p in params.params:
            out.append(Param(p.name.value, "pos", p.default is not None, _literal_truth(p.default)))
        if isinstance(params.star_arg, cst.Param):
            out.append(Param(params.star_arg.name.value, "star", False))
        for p in params.kwonly_params:
            out.append(Param(p.name.value, "kwonly", p.default is not None, _literal_truth(p.default)))
        if params.star_kwarg is not None:
            out.append(Param(params.star_kwarg.name.value, "dstar", False))
        return tuple(out)

    def _function(self, node: cst.FunctionDef) -> DefStmt:
        decorators = tuple(self._expr(d.decorator) for d in node.decorators)
        # Defaults are evaluated in the enclosing scope.
        for p in (*node.params.params, *node.params.kwonly_params, *node.params.posonly_params):
            if p.default is not None:
                self._expr(p.default)
        return self._define_function(
            node.name.value,
            decorators,
            self._params(node.params),
            lambda: self._suite(node.body),
            self._loc(node.name),
        )

    def _class(self, node: cst.ClassDef) -> DefStmt:
        bases = tuple(self._expr(arg.value) for arg in node.bases if arg.keyword is None)
        for dec in node.decorators:
            self._expr(dec.decorator)
        return self._define_class(node.name.value, bases, lambda: self._suite(node.body), self._loc(node.name))

    # ------------------------------------------------------------------ expressions

    def _exprs(self, nodes: Sequence[cst.CSTNode]) -> tuple[Expr, ...]:
        return tuple(self._expr(n) for n in nodes)

    def _target(self, node: cst.CSTNode) -> Expr:
        # `m.training = False` writes the flag: it is not a read of it (see `_note_attribute`).
        if isinstance(node, cst.Attribute) and node.attr.value == "training":
            return Attr(self._expr(node.value), "training")
        return self._expr(node)

    def _expr(self, node: cst.CSTNode) -> Expr:
        if isinstance(node, cst.Name):
            if node.value in ("True", "False", "None"):
                return Const({"True": True, "False": False, "None": None}[node.value])
            return Name(node.value)
        if isinstance(node, cst.Attribute):
            self._note_attribute(node.attr.value)
            return Attr(self._expr(node.value), node.attr.value)
        if isinstance(node, cst.Call):
            func = self._expr(node.func)
            args: list[Expr] = []
            kwargs: list[tuple[str, Expr]] = []
            has_star = False
            for arg in node.args:
                value = self._expr(arg.value)
                if arg.star:
                    has_star = True
                    args.append(Starred(value)) if arg.star == "*" else kwargs.append(("**", value))
                elif arg.keyword is not None:
                    kwargs.append((arg.keyword.value, value))
                else:
                    args.append(value)
            self._note_call_name(func)
            return Call(func, tuple(args), tuple(kwargs), self._loc(node), has_star)
        if isinstance(node, cst.Integer):
            return Const(_literal(node.value, int))
        if isinstance(node, cst.Float):
            return Const(_literal(node.value, float))
        if isinstance(node, cst.SimpleString):
            return Const(_string(node))
        if isinstance(node, cst.ConcatenatedString):
            value = _concatenated(node)
            if value is not None:
                return Const(value)
            # Contains an f-string: like CPython, one string whose formatted parts are evaluated.
            return Other(tuple(self._expr(e) for e in _formatted_parts(node)))
        if isinstance(node, (cst.Tuple, cst.List)):
            return Seq(tuple(self._element(e) for e in node.elements))
        if isinstance(node, (cst.Set,)):
            return Other(tuple(self._element(e) for e in node.elements))
        if isinstance(node, cst.Dict):
            children: list[Expr] = []
            keys: list[str] | None = []
            for el in node.elements:
                if isinstance(el, cst.DictElement):
                    key = self._expr(el.key)
                    children.append(key)
                    children.append(self._expr(el.value))
                    if keys is not None and type(key) is Const and type(key.value) is str:
                        keys.append(key.value)
                    else:
                        keys = None
                else:
                    children.append(self._expr(el.value))
                    keys = None  # `**spread`
            return Other(tuple(children), keys=tuple(keys) if keys else None)
        if isinstance(node, cst.Subscript):
            indexes: list[Expr] = []
            for el in node.slice:
                sl = el.slice
                if isinstance(sl, cst.Index):
                    indexes.append(self._expr(sl.value))
                elif isinstance(sl, cst.Slice):
                    indexes.extend(self._expr(p) for p in (sl.lower, sl.upper, sl.step) if p is not None)
            index = indexes[0] if len(indexes) == 1 else Other(tuple(indexes))
            return Subscript(self._expr(node.value), index)
        if isinstance(node, cst.StarredElement):
            return Starred(self._expr(node.value))
        if isinstance(node, cst.IfExp):
            return IfExp(self._expr(node.test), self._expr(node.body), self._expr(node.orelse))
        if isinstance(node, cst.UnaryOperation):
            operand = self._expr(node.expression)
            if isinstance(node.operator, cst.Not):
                return Not(operand)
            return Other((operand,))
        if isinstance(node, cst.BinaryOperation):
            return Other((self._expr(node.left), self._expr(node.right)))
        if isinstance(node, cst.BooleanOperation):
            return Other((self._expr(node.left), self._expr(node.right)), either=True)
        if isinstance(node, cst.Comparison):
            return Other((self._expr(node.left), *(self._expr(c.comparator) for c in node.comparisons)))
        if isinstance(node, cst.Await):
            return self._expr(node.expression)
        if isinstance(node, cst.NamedExpr):
            # The walrus binds in the enclosing scope; its value flows on.
            target = self._expr(node.target)
            self._scope.bind_target(target)
            return self._expr(node.value)
        if isinstance(node, (cst.ListComp, cst.SetComp, cst.GeneratorExp, cst.DictComp)):
            return self._comprehension(node)
        if isinstance(node, cst.Lambda):
            for p in (*node.params.params, *node.params.kwonly_params, *node.params.posonly_params):
                if p.default is not None:
                    self._expr(p.default)
            return self._define_lambda(self._params(node.params), lambda: self._expr(node.body), self._loc(node))
        if isinstance(node, cst.FormattedString):
            return Other(
                tuple(
                    self._expr(part.expression)
                    for part in node.parts
                    if isinstance(part, cst.FormattedStringExpression)
                )
            )
        if isinstance(node, (cst.Yield,)):
            value = node.value
            if value is None:
                return Other((), True)
            if isinstance(value, cst.From):
                return Other((self._expr(value.item),), True)
            return Other((self._expr(value),), True)
        if isinstance(node, cst.Ellipsis):
            return Const(...)
        if isinstance(node, cst.Imaginary):
            return Const(None)
        return Other(())

    def _element(self, el: cst.BaseElement) -> Expr:
        if isinstance(el, cst.StarredElement):
            return Starred(self._expr(el.value))
        return self._expr(el.value)

    def _comprehension(self, node: cst.CSTNode) -> Expr:
        children: list[Expr] = []
        comp = node.for_in
        while comp is not None:
            children.append(self._expr(comp.iter))
            # Comprehension variables are treated as locals of the enclosing scope (unknown values).
            self._scope.bind_target(self._expr(comp.target))
            children.extend(self._expr(cond.test) for cond in comp.ifs)
            comp = comp.inner_for_in
        if isinstance(node, cst.DictComp):
            children.append(self._expr(node.key))
            children.append(self._expr(node.value))
        else:
            children.append(self._expr(node.elt))
        return Other(tuple(children))


def _walk(node: cst.CSTNode) -> Iterable[cst.CSTNode]:
    yield node
    for child in node.children:
        yield from _walk(child)


def _attr_chain(node: cst.CSTNode) -> str:
    if isinstance(node, cst.Name):
        return node.value
    if isinstance(node, cst.Attribute):
        return f"{_attr_chain(node.value)}.{node.attr.value}"
    return ""


def _literal(text: str, kind: type) -> object:
    try:
        return kind(text.replace("_", "")) if kind is float else int(text.replace("_", ""), 0)
    except ValueError:
        return None


def _string(node: cst.SimpleString) -> object:
    try:
        return node.evaluated_value
    except Exception:  # noqa: BLE001 - an odd escape must not stop the analysis
        return node.value


def _concatenated(node: cst.ConcatenatedString) -> object:
    try:
        return node.evaluated_value
    except Exception:  # noqa: BLE001
        return None


def _formatted_parts(node: cst.CSTNode) -> list[cst.BaseExpression]:
    if isinstance(node, cst.ConcatenatedString):
        return [*_formatted_parts(node.left), *_formatted_parts(node.right)]
    if isinstance(node, cst.FormattedString):
        return [p.expression for p in node.parts if isinstance(p, cst.FormattedStringExpression)]
    return []


def _literal_truth(node: cst.BaseExpression | None) -> bool | None:
    """The truth value of a literal default (`True`, `None`, `0`, `"x"`), else None (as the ast front end)."""
    if isinstance(node, cst.Name) and node.value in ("True", "False", "None"):
        return node.value == "True"
    if isinstance(node, (cst.Integer, cst.Float, cst.SimpleString)):
        if isinstance(node, cst.SimpleString):
            value = _string(node)
        else:
            value = _literal(node.value, float if isinstance(node, cst.Float) else int)
        return bool(value) if value is not None else None
    return None
