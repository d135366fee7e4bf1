"""A small, picklable intermediate representation of Python code.

The parse stage lowers `ast` (or LibCST) trees into these records; every later stage reads only them.
The IR keeps what mode-flow analysis needs (names, attributes, calls, assignments, control flow,
`with` blocks) and folds everything else into `Other` nodes that still carry their sub-expressions,
so calls nested in arbitrary expressions are not lost.
"""

from __future__ import annotations

from typing import Union

from evalguard.record import compact_pickle, record


@compact_pickle
@record
class Loc:
    """1-based line and column range of a node."""

    line: int
    col: int
    end_line: int
    end_col: int


NO_LOC = Loc(0, 0, 0, 0)


# ---------------------------------------------------------------------------- expressions


@compact_pickle
@record
class Name:
    id: str


@compact_pickle
@record
class Attr:
    value: "Expr"
    attr: str


@compact_pickle
@record
class Call:
    func: "Expr"
    args: tuple["Expr", ...]
    kwargs: tuple[tuple[str, "Expr"], ...]
    loc: Loc
    # `*args` / `**kwargs` present: argument binding is uncertain.
    has_star: bool = False


@compact_pickle
@record
class Const:
    """A literal: bool, None, int, float, str or bytes (value kept for EG007-style checks)."""

    value: object


@compact_pickle
@record
class Subscript:
    value: "Expr"
    index: "Expr"


@compact_pickle
@record
class Seq:
    """A tuple or list display (also an unpacking target)."""

    elts: tuple["Expr", ...]


@compact_pickle
@record
class Starred:
    value: "Expr"


@compact_pickle
@record
class IfExp:
    test: "Expr"
    body: "Expr"
    orelse: "Expr"


@compact_pickle
@record
class Not:
    operand: "Expr"


@compact_pickle
@record
class Other:
    """Any other expression; its sub-expressions are still evaluated for their effects."""

    children: tuple["Expr", ...] = ()
    # A `yield` (a `@contextmanager` function's block runs there).
    yields: bool = False
    # A dict display whose keys are all string literals (`{"encoder": enc, "decoder": dec}`):
    # the keys in order; `children` holds key, value, key, value, ...
    keys: tuple[str, ...] | None = None
    # `a or b`, `a and b`: the value is one of the children (`callbacks or []`).
    either: bool = False


@compact_pickle
@record
class FuncRef:
    """A lambda: a reference to the synthetic function `qualname` holding its body."""

    qualname: str


Expr = Union[Name, Attr, Call, Const, Subscript, Seq, Starred, IfExp, Not, Other, FuncRef]


# ---------------------------------------------------------------------------- statements


@compact_pickle
@record
class Assign:
    targets: tuple[Expr, ...]
    value: Expr
    loc: Loc


@compact_pickle
@record
class ExprStmt:
    expr: Expr
    loc: Loc


@compact_pickle
@record
class If:
    test: Expr
    body: tuple["Stmt", ...]
    orelse: tuple["Stmt", ...]
    loc: Loc


@compact_pickle
@record
class Loop:
    """`for target in iter` (iter set) or `while test` (test set)."""

    target: Expr | None
    iter: Expr | None
    test: Expr | None
    body: tuple["Stmt", ...]
    orelse: tuple["Stmt", ...]
    loc: Loc


@compact_pickle
@record
class With:
    items: tuple[tuple[Expr, Expr | None], ...]
    body: tuple["Stmt", ...]
    loc: Loc


@compact_pickle
@record
class Try:
    body: tuple["Stmt", ...]
    handlers: tuple[tuple["Stmt", ...], ...]
    orelse: tuple["Stmt", ...]
    finalbody: tuple["Stmt", ...]
    loc: Loc


@compact_pickle
@record
class Match:
    subject: Expr
    cases: tuple[tuple["Stmt", ...], ...]
    # True when a case is irrefutable (`case _:`), so some case always runs.
    exhaustive: bool
    loc: Loc


@compact_pickle
@record
class Return:
    value: Expr | None
    loc: Loc


@compact_pickle
@record
class Raise:
    loc: Loc


@compact_pickle
@record
class Break:
    loc: Loc


@compact_pickle
@record
class Continue:
    loc: Loc


@compact_pickle
@record
class Delete:
    targets: tuple[Expr, ...]
    loc: Loc


@compact_pickle
@record
class DefStmt:
    """A nested `def`/`class`: binds `name` to the definition `qualname` in this scope."""

    name: str
    qualname: str
    loc: Loc


Stmt = Union[Assign, ExprStmt, If, Loop, With, Try, Match, Return, Raise, Break, Continue, Delete, DefStmt]


# ---------------------------------------------------------------------------- definitions


@compact_pickle
@record
class Param:
    name: str
    # "pos" (positional or keyword), "posonly", "kwonly", "star" (*args), "dstar" (**kwargs)
    kind: str
    has_default: bool
    # Truth value of a literal default (`eval_mode=True` -> True, `freeze=None` -> False); None
    # when there is no default or it is not a literal.
    default_truth: bool | None = None


@compact_pickle
@record
class ImportBinding:
    """`local` names `module` (when `name` is None) or `name` from `module`.

    `level` counts leading dots of a relative import; `module` is as written (may be empty).
    """

    local: str
    module: str
    name: str | None
    level: int


@compact_pickle
@record
class FunctionFacts:
    qualname: str
    name: str
    params: tuple[Param, ...]
    decorators: tuple[Expr, ...]
    body: tuple[Stmt, ...]
    loc: Loc
    # Qualname of the class this is a method of (None for functions and the module body).
    class_qualname: str | None
    # "instance", "static" or "class" for methods; "function" otherwise; "module" for the module body.
    kind: str
    # Names this scope binds (params, assignments, imports, defs) — everything else is free.
    local_names: frozenset[str]
    global_names: frozenset[str]
    # Imports made inside the function body.
    imports: tuple[ImportBinding, ...]
    # Qualname of the enclosing function for nested defs (closures read its names).
    parent: str | None
    # Dotted names of everything called in the body (for the sensitivity of module builders).
    called_names: frozenset[str] = frozenset()
    # Names and `self.x` paths with module-only methods called on them (`m.parameters()`): they
    # denote modules (see `parsing.evidence`).
    evidence_names: frozenset[str] = frozenset()
    # Mentions a name the mode analysis reacts to (`knowledge.mode_word`): not prefiltered out.
    mode_words: bool = True


@compact_pickle
@record
class ClassFacts:
    qualname: str
    name: str
    bases: tuple[Expr, ...]
    # method name -> function qualname
    methods: tuple[tuple[str, str], ...]
    loc: Loc
    # Dotted names of everything called anywhere in the class body and its methods (for sensitivity).
    called_names: frozenset[str]
    # Reads `self.training` (or any `.training`): behaviour depends on the mode.
    reads_training_flag: bool


@compact_pickle
@record
class ParseFailure:
    message: str
    line: int
    col: int


@compact_pickle
@record
class ModuleFacts:
    path: str
    # Dotted module name relative to the checked root ("pkg.utils.evaluation").
    module_name: str
    functions: tuple[FunctionFacts, ...]
    classes: tuple[ClassFacts, ...]
    imports: tuple[ImportBinding, ...]
    # Names bound at module level (defs, classes, assignments, imports).
    toplevel_names: frozenset[str]
    failure: ParseFailure | None = None

    @property
    def is_package(self) -> bool:
        return self.path.endswith("__init__.py")


def super_attr(expr: Expr) -> str | None:
    """`name` for `super().name` / `super(Cls, self).name`; None otherwise."""
    if type(expr) is Attr and type(expr.value) is Call and dotted_name(expr.value.func) == "super":
        return expr.attr
    return None


def literal_getattr(expr: Expr) -> tuple[Expr, str] | None:
    """(object, name) for `getattr(obj, "name")` with a literal identifier; None otherwise."""
    if type(expr) is Call and dotted_name(expr.func) == "getattr" and len(expr.args) >= 2 and not expr.has_star:
        name = expr.args[1]
        if type(name) is Const and type(name.value) is str and name.value.isidentifier():
            return expr.args[0], name.value
    return None


def dotted_name(expr: Expr) -> str | None:
    """`a.b.c` for Name/Attr chains, else None."""
    parts: list[str] = []
    while isinstance(expr, Attr):
        parts.append(expr.attr)
        expr = expr.value
    if isinstance(expr, Name):
        parts.append(expr.id)
        return ".".join(reversed(parts))
    return None


def path_text(expr: Expr) -> str | None:
    """Source-like text for a reference (`self.model`, `models[i]`)."""
    if isinstance(expr, Subscript):
        inner = path_text(expr.value)
        return f"{inner}[...]" if inner else None
    if isinstance(expr, Call):
        inner = path_text(expr.func)
        return f"{inner}(...)" if inner else None
    if isinstance(expr, Attr):
        inner = path_text(expr.value)
        return f"{inner}.{expr.attr}" if inner else None
    if isinstance(expr, Name):
        return expr.id
    return None


def walk_statements(body: tuple[Stmt, ...]):
    """Every statement of a body, nested blocks included (not nested definitions: they are
    functions of their own)."""
    for stmt in body:
        yield stmt
        t = type(stmt)
        if t is If or t is Loop:
            yield from walk_statements(stmt.body)
            yield from walk_statements(stmt.orelse)
        elif t is With:
            yield from walk_statements(stmt.body)
        elif t is Try:
            for block in (stmt.body, *stmt.handlers, stmt.orelse, stmt.finalbody):
                yield from walk_statements(block)
        elif t is Match:
            for block in stmt.cases:
                yield from walk_statements(block)


def self_assignments(body: tuple[Stmt, ...]) -> dict[str, list[Expr]]:
    """attribute -> the values a body assigns to `self.<attribute>`, in order (nested blocks
    included)."""
    out: dict[str, list[Expr]] = {}
    for stmt in walk_statements(body):
        if type(stmt) is Assign:
            for t in stmt.targets:
                if type(t) is Attr and type(t.value) is Name and t.value.id == "self":
                    out.setdefault(t.attr, []).append(stmt.value)
    return out


def stmt_value(stmt: Stmt) -> Expr | None:
    """The expression an assignment, a return or an expression statement evaluates (None for
    other statements)."""
    t = type(stmt)
    return stmt.value if t is Assign or t is Return else stmt.expr if t is ExprStmt else None


def walk_expr(expr: Expr | None):
    """An expression and all its sub-expressions (not into lambdas: `FuncRef` bodies are functions)."""
    if expr is None:
        return
    yield expr
    t = type(expr)
    if t is Attr or t is Starred:
        yield from walk_expr(expr.value)
    elif t is Subscript:
        yield from walk_expr(expr.value)
        yield from walk_expr(expr.index)
    elif t is Call:
        yield from walk_expr(expr.func)
        for a in expr.args:
            yield from walk_expr(a)
        for _, v in expr.kwargs:
            yield from walk_expr(v)
    elif t is Seq:
        for e in expr.elts:
            yield from walk_expr(e)
    elif t is Other:
        for e in expr.children:
            yield from walk_expr(e)
    elif t is IfExp:
        yield from walk_expr(expr.test)
        yield from walk_expr(expr.body)
        yield from walk_expr(expr.orelse)
    elif t is Not:
        yield from walk_expr(expr.operand)


def root_name(expr: Expr) -> str | None:
    """`p` for `p.grad.data`, `grads[i]`; None when not rooted at a name."""
    while type(expr) is Attr or type(expr) is Subscript:
        expr = expr.value
    return expr.id if type(expr) is Name else None
