"""What both front ends share: scopes, qualified names, and building definition facts.

A front end walks its own syntax tree and hands each definition's pieces (name, decorators,
parameters, a callback that lowers the body) to these helpers, so the facts come out identical.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

from evalguard.parsing.evidence import body_facts
from evalguard.parsing.ir import (
    Assign,
    Attr,
    Call,
    ClassFacts,
    DefStmt,
    Expr,
    FunctionFacts,
    ImportBinding,
    Loc,
    Name,
    FuncRef,
    Param,
    Return,
    Seq,
    Starred,
    Stmt,
    dotted_name,
    literal_getattr,
    super_attr,
)

MODULE_QUALNAME = "<module>"


class Scope:
    """Collects what one function, class body or module body binds while it is lowered."""

    def __init__(self, qualname: str, is_class: bool = False) -> None:
        self.qualname = qualname
        self.is_class = is_class
        self.local_names: set[str] = set()
        self.global_names: set[str] = set()
        self.imports: list[ImportBinding] = []
        self.called_names: set[str] = set()

    def bind_target(self, target: Expr) -> None:
        if isinstance(target, Name):
            self.local_names.add(target.id)
        elif isinstance(target, Seq):
            for elt in target.elts:
                self.bind_target(elt)
        elif isinstance(target, Starred):
            self.bind_target(target.value)


@dataclass
class _ClassFrame:
    qualname: str
    called: set[str] = field(default_factory=set)
    reads_training: bool = False


class DefinitionCollector:
    def __init__(self) -> None:
        self.functions: list[FunctionFacts] = []
        self.classes: list[ClassFacts] = []
        self._scopes: list[Scope] = []
        self._function_qualnames: set[str] = set()
        self._class_stack: list[_ClassFrame] = []

    @property
    def _scope(self) -> Scope:
        return self._scopes[-1]

    def _qualname(self, name: str) -> str:
        parent = self._scopes[-1].qualname if self._scopes else MODULE_QUALNAME
        return name if parent == MODULE_QUALNAME else f"{parent}.{name}"

    def _note_guard(self, item: Expr) -> None:
        """`with self.guard:` runs the object's `__enter__` and `__exit__`: calls of those methods
        for the caller graph (a guard built in the `with` line is a constructor call, whose class
        the graph follows)."""
        name = dotted_name(item) if type(item) is not Call else None
        if name is not None:
            for dunder in ("__enter__", "__exit__"):
                self._note_call_name(Attr(item, dunder))

    def _note_call_name(self, func: Expr) -> None:
        name = dotted_name(func)
        if name is None and (method := super_attr(func)) is not None:
            name = f"super.{method}"  # `super().validate()`: the base class's method (see the caller graph)
        if name is None and (found := literal_getattr(func)) is not None:
            # `getattr(hook, "after_epoch")(self)` calls `hook.after_epoch`, as the analysis reads it
            obj = dotted_name(found[0])
            name = f"{obj}.{found[1]}" if obj else None
        if name is None:
            return
        if self._class_stack:
            self._class_stack[-1].called.add(name)
        if self._scopes:
            self._scopes[-1].called_names.add(name)

    def _note_attribute(self, attr: str) -> None:
        if attr == "training" and self._class_stack:
            # The mode setters themselves (a `train(mode)` override reading the current flag) do
            # not make the class behave differently by mode.
            if self._scopes and self._scopes[-1].qualname.rpartition(".")[2] in ("train", "eval"):
                return
            self._class_stack[-1].reads_training = True

    # ------------------------------------------------------------------ definitions

    def _define_module(self, lower_body: Callable[[], tuple[Stmt, ...]]) -> tuple[FunctionFacts, list[ImportBinding]]:
        scope = Scope(MODULE_QUALNAME)
        self._scopes.append(scope)
        body = lower_body()
        self._scopes.pop()
        evidence, mode_words = body_facts(body)
        facts = FunctionFacts(
            qualname=MODULE_QUALNAME,
            name=MODULE_QUALNAME,
            params=(),
            decorators=(),
            body=body,
            loc=Loc(1, 1, 1, 1),
            class_qualname=None,
            kind="module",
            local_names=frozenset(scope.local_names),
            global_names=frozenset(),
            imports=tuple(scope.imports),
            parent=None,
            called_names=frozenset(scope.called_names),
            evidence_names=evidence,
            mode_words=mode_words,
        )
        self.functions.append(facts)
        return facts, scope.imports

    def _define_function(
        self,
        name: str,
        decorators: tuple[Expr, ...],
        params: tuple[Param, ...],
        lower_body: Callable[[], tuple[Stmt, ...]],
        loc: Loc,
    ) -> DefStmt:
        qualname = self._qualname(name)
        class_qualname = None
        kind = "function"
        if self._class_stack and self._scopes[-1].qualname == self._class_stack[-1].qualname:
            class_qualname = self._class_stack[-1].qualname
            kind = "instance"
            for dec in decorators:
                dname = dotted_name(dec)
                if dname == "staticmethod":
                    kind = "static"
                elif dname == "classmethod":
                    kind = "class"
        parent = next(
            (s.qualname for s in reversed(self._scopes) if not s.is_class and s.qualname != MODULE_QUALNAME),
            None,
        )
        scope = Scope(qualname)
        scope.local_names.update(p.name for p in params)
        self._scopes.append(scope)
        body = lower_body()
        self._scopes.pop()
        self._function_qualnames.add(qualname)
        evidence, mode_words = body_facts(body, decorators)
        self.functions.append(
            FunctionFacts(
                qualname=qualname,
                name=name,
                params=params,
                decorators=decorators,
                body=body,
                loc=loc,
                class_qualname=class_qualname,
                kind=kind,
                local_names=frozenset(scope.local_names - scope.global_names),
                global_names=frozenset(scope.global_names),
                imports=tuple(scope.imports),
                parent=parent,
                called_names=frozenset(scope.called_names),
                evidence_names=evidence,
                mode_words=mode_words,
            )
        )
        self._scope.local_names.add(name)
        return DefStmt(name, qualname, loc)

    def _define_lambda(
        self, params: tuple[Param, ...], lower_body: Callable[[], Expr], loc: Loc
    ) -> FuncRef:
        """A lambda becomes a small function (`return <body>`) so calls through it are followed."""
        name = f"<lambda:{loc.line}:{loc.col}>"
        stmt = self._define_function(name, (), params, lambda: (Return(lower_body(), loc),), loc)
        return FuncRef(stmt.qualname)

    def _define_class(
        self, name: str, bases: tuple[Expr, ...], lower_body: Callable[[], tuple[Stmt, ...]], loc: Loc
    ) -> DefStmt:
        qualname = self._qualname(name)
        frame = _ClassFrame(qualname)
        self._class_stack.append(frame)
        # The class body is its own scope; its statements still run (class attributes).
        self._scopes.append(Scope(qualname, is_class=True))
        body = lower_body()
        self._scopes.pop()
        self._class_stack.pop()
        methods = _methods(body, self._function_qualnames)
        if self._class_stack:
            # Calls in a nested class also count for the enclosing one.
            self._class_stack[-1].called.update(frame.called)
            self._class_stack[-1].reads_training |= frame.reads_training
        self.classes.append(
            ClassFacts(
                qualname=qualname,
                name=name,
                bases=bases,
                methods=methods,
                loc=loc,
                called_names=frozenset(frame.called),
                reads_training_flag=frame.reads_training,
            )
        )
        self._scope.local_names.add(name)
        return DefStmt(name, qualname, loc)


def _methods(body: tuple[Stmt, ...], functions: set[str]) -> tuple[tuple[str, str], ...]:
    """(name, function qualname) of a class body's methods, aliases included (`__call__ = predict`,
    `forward = _forward_impl`: the name runs the method defined above it)."""
    out: list[tuple[str, str]] = []
    defined: dict[str, str] = {}
    for stmt in body:
        if isinstance(stmt, DefStmt) and stmt.qualname in functions:
            out.append((stmt.name, stmt.qualname))
            defined[stmt.name] = stmt.qualname
        elif isinstance(stmt, Assign) and isinstance(stmt.value, Name) and stmt.value.id in defined:
            for target in stmt.targets:
                if isinstance(target, Name):
                    out.append((target.id, defined[stmt.value.id]))
                    defined[target.id] = defined[stmt.value.id]
    return tuple(out)

