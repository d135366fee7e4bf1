"""The project index: modules of the checked tree, import resolution, classes and their properties."""

from __future__ import annotations

import builtins
import os
from dataclasses import dataclass
import sys
from functools import lru_cache

from evalguard.analysis import knowledge as K
from evalguard.analysis.modes import EVAL, TRAIN
from evalguard.parsing.ir import (
    Assign,
    Attr,
    Call,
    ClassFacts,
    Expr,
    ExprStmt,
    FunctionFacts,
    ImportBinding,
    ModuleFacts,
    Name,
    Return,
    dotted_name,
    path_text,
    self_assignments,
    stmt_value,
    walk_expr,
    walk_statements,
)
from evalguard.record import record

BUILTIN_NAMES = frozenset(dir(builtins))


@dataclass(frozen=True)
class Wiring:
    """See `ProjectIndex.constructor_wiring`: (path, the path other methods name that object by),
    (path, plain project class built there), (field, project class built there)."""

    aliases: tuple[tuple[str, str], ...] = ()
    classes: tuple[tuple[str, str], ...] = ()
    built: tuple[tuple[str, str], ...] = ()


NO_WIRING = Wiring()


def _unwrap_moves(value: Expr) -> Expr:
    """`Net().to(device)`, `model.cuda()`: the object moved is the same object."""
    while type(value) is Call and type(value.func) is Attr and value.func.attr in ("to", "cuda", "cpu", "float", "double", "half"):
        value = value.func.value
    return value


@record
class Symbol:
    """What a name denotes statically.

    kind: "function" / "class" (target = project key "module:qualname"), "module" (target = project
    module name), "external" (target = dotted qualified name outside the project), "global" (target =
    variable key "G:module|name"), "builtin".
    """

    kind: str
    target: str


def func_key(module: str, qualname: str) -> str:
    return f"{module}:{qualname}"


class ProjectIndex:
    def __init__(self, modules: list[ModuleFacts]) -> None:
        self.modules: dict[str, ModuleFacts] = {}
        for facts in sorted(modules, key=lambda m: m.path):
            if facts.failure is None:
                self.modules.setdefault(facts.module_name, facts)
        self.functions: dict[str, FunctionFacts] = {}
        self.function_module: dict[str, ModuleFacts] = {}
        self.classes: dict[str, ClassFacts] = {}
        self.class_module: dict[str, ModuleFacts] = {}
        self._by_suffix: dict[str, list[str]] = {}
        self._defs: dict[str, dict[str, Symbol]] = {}
        for name, facts in self.modules.items():
            defs: dict[str, Symbol] = {}
            for fn in facts.functions:
                key = func_key(name, fn.qualname)
                self.functions[key] = fn
                self.function_module[key] = facts
                if "." not in fn.qualname and fn.kind == "function":
                    defs[fn.qualname] = Symbol("function", key)
            for cls in facts.classes:
                key = func_key(name, cls.qualname)
                self.classes[key] = cls
                self.class_module[key] = facts
                if "." not in cls.qualname:
                    defs[cls.qualname] = Symbol("class", key)
            self._defs[name] = defs
            parts = name.split(".")
            for i in range(len(parts)):
                self._by_suffix.setdefault(".".join(parts[i:]), []).append(name)
        self._class_cache: dict[str, tuple[bool | None, bool]] = {}
        self._subclasses: dict[str, list[str]] | None = None
        # The index never changes after construction, so name resolution is memoised: the same
        # imports, bases and members are resolved from thousands of functions.
        self._find_module_cache: dict[tuple[str, str], str | None] = {}
        self._import_cache: dict[tuple[ImportBinding, str], Symbol] = {}
        self._member_cache: dict[tuple[str, str], Symbol | None] = {}
        self._global_cache: dict[tuple[str, str], Symbol | None] = {}
        self._member_pending: set[tuple[str, str]] = set()
        self._bases_cache: dict[str, list[Symbol]] = {}
        # Per module: the binding each imported name ends up with (the last one wins), and the
        # star imports. Looked up for every re-export step; some `__init__` files import hundreds
        # of names, so a scan per lookup dominated a transformers run's name resolution.
        self._imports_by_local: dict[str, dict[str, ImportBinding]] = {}
        self._star_imports: dict[str, list[ImportBinding]] = {}
        self._mro_cache: dict[str, list[str]] = {}
        self._method_cache: dict[tuple[str, str], str | None] = {}
        self._optimized_cache: dict[str, frozenset[str]] = {}
        self._rebound_cache: dict[str, frozenset[str]] = {}
        self._wiring_cache: dict[str, str | None] = {}
        self._wiring_facts: dict[str, Wiring] = {}
        self._subclass_cache: dict[str, list[str]] = {}
        self._method_names: frozenset[str] | None = None
        self._property_names: frozenset[str] | None = None
        self._route_handlers: dict[str, list[str]] | None = None
        self._serving_handlers: dict[str, list[tuple[str, list[str]]]] | None = None
        self._wrapper_cache: dict[str, tuple[str, str, str] | None] = {}

    # ------------------------------------------------------------------ modules and imports

    def find_module(self, dotted: str, near: ModuleFacts) -> str | None:
        key = (dotted, near.path)
        if key not in self._find_module_cache:
            found = self._find_module(dotted, near)
            if found is None:
                inner = _inside_root_package(dotted, near)
                found = self._find_module(inner, near) if inner else None
            self._find_module_cache[key] = found
        return self._find_module_cache[key]

    def _find_module(self, dotted: str, near: ModuleFacts) -> str | None:
        """Project module for an absolute import, preferring the one closest to the importer.

        Scripts are often run from their own directory, so `from utils.x import f` can mean
        `<root>/proj/utils/x.py`; match by dotted suffix and take the candidate sharing the longest
        path prefix with the importing file.
        """
        importer = near.module_name.split(".")
        # Visible from the importer: the module sits at the checked root or in a directory on the
        # importer's own path (its folder or an ancestor) — never in a sibling project.
        candidates = [
            name
            for name in self._by_suffix.get(dotted, ())
            if importer[: len(name.split(".")) - len(dotted.split("."))] == name.split(".")[: len(name.split(".")) - len(dotted.split("."))]
        ]
        if not candidates:
            return None
        if len(candidates) == 1:
            return candidates[0]

        def shared(name: str) -> tuple[int, int]:
            parts = name.split(".")
            n = 0
            for a, b in zip(parts, importer):
                if a != b:
                    break
                n += 1
            return (n, -len(parts))

        return max(sorted(candidates), key=shared)

    def resolve_import(self, binding: ImportBinding, importer: ModuleFacts) -> Symbol:
        key = (binding, importer.module_name)
        sym = self._import_cache.get(key)
        if sym is None:
            sym = self._import_cache[key] = self._resolve_import(binding, importer)
        return sym

    def _resolve_import(self, binding: ImportBinding, importer: ModuleFacts) -> Symbol:
        if binding.level:
            base = importer.module_name.split(".")
            if not importer.is_package:
                base = base[:-1]
            base = base[: len(base) - (binding.level - 1)] if binding.level > 1 else base
            module = ".".join([*base, binding.module] if binding.module else base)
            project_module = module if module in self.modules else self.find_module(module, importer)
        else:
            module = binding.module
            project_module = self.find_module(module, importer) if module else None
            if project_module is None and binding.name is not None and module == root_package(importer):
                # `from proj import utils` inside a `proj/` without `__init__.py`: its module.
                sub = self.find_module(binding.name, importer)
                if sub is not None:
                    return Symbol("module", sub)
        if binding.name is None:
            if project_module is not None:
                return Symbol("module", project_module)
            return Symbol("external", module)
        if project_module is not None:
            sym = self.module_member(project_module, binding.name)
            if sym is not None:
                return sym
            sub = f"{project_module}.{binding.name}"
            if sub in self.modules:
                return Symbol("module", sub)
            return Symbol("global", f"G:{project_module}|{binding.name}")
        return Symbol("external", f"{module}.{binding.name}" if module else binding.name)

    def module_member(self, module: str, name: str, _depth: int = 0) -> Symbol | None:
        """What `module.name` denotes (following re-exports through imports)."""
        # Cached for top-level queries only: below, the depth cap makes answers path-dependent.
        # A query already in progress is a cycle through imports: without this guard, star imports
        # that re-enter `resolve_import` (which restarts at depth 0) recursed until RecursionError.
        key = (module, name)
        if key in self._member_cache:
            return self._member_cache[key]
        if key in self._member_pending:
            return None  # an import cycle (`from .a import *` both ways): it denotes nothing
        self._member_pending.add(key)
        try:
            sym = self._module_member(module, name, _depth)
        finally:
            self._member_pending.discard(key)
        if _depth == 0:
            self._member_cache[key] = sym
        return sym

    def _module_member(self, module: str, name: str, _depth: int) -> Symbol | None:
        facts = self.modules.get(module)
        if facts is None or _depth > 8:
            return None
        sym = self._defs[module].get(name)
        if sym is not None:
            return sym
        by_local = self._imports_by_local.get(module)
        if by_local is None:
            by_local = self._imports_by_local[module] = {b.local: b for b in facts.imports}
            self._star_imports[module] = [b for b in facts.imports if b.local == "*"]
        binding = by_local.get(name)
        if binding is not None:
            return self._resolve_cached(binding, facts, _depth)
        if name in facts.toplevel_names:
            return Symbol("global", f"G:{module}|{name}")
        for binding in self._star_imports[module]:
            # `from .evaluation import *` re-exports that module's public names.
            target = self.resolve_import(ImportBinding("*", binding.module, None, binding.level), facts)
            if target.kind == "module" and target.target != module and not name.startswith("_"):
                sym = self.module_member(target.target, name, _depth + 1)
                if sym is not None:
                    return sym
        sub = f"{module}.{name}"
        if sub in self.modules:
            return Symbol("module", sub)
        return None

    def _resolve_cached(self, binding: ImportBinding, facts: ModuleFacts, depth: int) -> Symbol:
        if binding.level == 0 and binding.name is not None:
            project_module = self.find_module(binding.module, facts) if binding.module else None
            if project_module is not None:
                sym = self.module_member(project_module, binding.name, depth + 1)
                if sym is not None:
                    return sym
        return self.resolve_import(binding, facts)

    def lookup_global(self, module: str, name: str) -> Symbol | None:
        """A free name in `module`: definition, import, module variable or builtin."""
        key = (module, name)
        if key in self._global_cache:  # read for every free name of every function: one lookup
            return self._global_cache[key]
        sym = self.module_member(module, name)
        if sym is None and name in BUILTIN_NAMES:
            sym = Symbol("builtin", name)
        self._global_cache[key] = sym
        return sym

    def resolve_dotted(self, sym: Symbol, attrs: list[str]) -> Symbol:
        """Follow `.attr` steps from a symbol (module members, external dotted names)."""
        for i, attr in enumerate(attrs):
            if sym.kind == "module":
                nxt = self.module_member(sym.target, attr)
                if nxt is None:
                    return Symbol("unknown", "")
                sym = nxt
            elif sym.kind == "external":
                sym = Symbol("external", f"{sym.target}.{attr}")
            elif sym.kind == "class":
                method = self.find_method(sym.target, attr)
                if method is not None and i == len(attrs) - 1:
                    return Symbol("function", method)
                return Symbol("unknown", "")
            else:
                return Symbol("unknown", "")
        return sym

    # ------------------------------------------------------------------ classes

    def class_bases(self, class_key: str) -> list[Symbol]:
        cached = self._bases_cache.get(class_key)
        if cached is None:
            cached = self._bases_cache[class_key] = self._class_bases(class_key)
        return cached

    def _class_bases(self, class_key: str) -> list[Symbol]:
        cls = self.classes[class_key]
        facts = self.class_module[class_key]
        out = []
        for base in cls.bases:
            sym = self.static_symbol(base, facts, None)
            if sym.kind == "class" and sym.target == class_key:
                # `class DeepGP(DeepGP):` extends the imported class the statement then shadows:
                # the module's imports first, as a local import would be.
                name = dotted_name(base) or ""
                sym = self.resolve_name(name, facts, facts.imports) or Symbol("unknown", name)
                if sym.kind == "class" and sym.target == class_key:
                    sym = Symbol("unknown", name)
            out.append(sym)
        return out

    def static_symbol(self, expr: Expr, facts: ModuleFacts, fn: FunctionFacts | None) -> Symbol:
        """Resolve a dotted expression without flow information (bases, decorators)."""
        name = dotted_name(expr)
        if name is None:
            return Symbol("unknown", "")
        return self.resolve_name(name, facts, fn.imports if fn is not None else ()) or Symbol("unknown", name)

    def resolve_name(self, dotted: str, facts: ModuleFacts, imports: tuple[ImportBinding, ...]) -> Symbol | None:
        """`a.b.c` in a module: local imports first (innermost last wins), then module names."""
        head, *rest = dotted.split(".")
        sym: Symbol | None = None
        for binding in reversed(imports):
            if binding.local == head:
                sym = self.resolve_import(binding, facts)
                break
        if sym is None:
            sym = self.lookup_global(facts.module_name, head)
        if sym is None:
            return None
        return self.resolve_dotted(sym, rest) if rest else sym

    def mro(self, class_key: str) -> list[str]:
        """Project classes in method-resolution order (depth-first, good enough for lookups)."""
        cached = self._mro_cache.get(class_key)
        if cached is None:
            cached = self._mro_cache[class_key] = self._mro(class_key)
        return cached

    def _mro(self, class_key: str) -> list[str]:
        out: list[str] = []
        stack = [class_key]
        while stack and len(out) < 64:
            key = stack.pop(0)
            if key in out or key not in self.classes:
                continue
            out.append(key)
            stack.extend(b.target for b in self.class_bases(key) if b.kind == "class")
        return out

    def subclasses(self, class_key: str) -> list[str]:
        """Project classes deriving from this one, transitively (sorted)."""
        if self._subclasses is None:
            direct: dict[str, set[str]] = {}
            for key in self.classes:
                for base in self.class_bases(key):
                    if base.kind == "class":
                        direct.setdefault(base.target, set()).add(key)
            self._subclasses = {k: sorted(v) for k, v in direct.items()}
        cached = self._subclass_cache.get(class_key)
        if cached is not None:
            return cached
        out: list[str] = []
        stack = list(self._subclasses.get(class_key, ()))
        while stack and len(out) < 64:
            key = stack.pop(0)
            if key not in out and key != class_key:
                out.append(key)
                stack.extend(self._subclasses.get(key, ()))
        self._subclass_cache[class_key] = sorted(out)
        return self._subclass_cache[class_key]

    def method_names(self) -> frozenset[str]:
        """Every method name some project class defines."""
        if self._method_names is None:
            self._method_names = frozenset(name for cls in self.classes.values() for name, _ in cls.methods)
        return self._method_names

    def property_names(self) -> frozenset[str]:
        """Names of the project's `@property` methods (read as attributes, not called)."""
        if self._property_names is None:
            self._property_names = frozenset(
                fn.name for fn in self.functions.values() if fn.class_qualname is not None and is_property(fn)
            )
        return self._property_names

    def super_method(self, class_key: str, name: str) -> str | None:
        """The project method `super().<name>` runs in a method of `class_key`: the first base (in
        order) that has it. None when it is outside the project, or an outside base listed
        first may define it itself."""
        if class_key not in self.classes:
            return None
        for base in self.class_bases(class_key):
            if base.kind != "class":
                return None
            target = self.find_method(base.target, name)
            if target is not None:
                return target
        return None

    def route_handlers(self, module_name: str) -> list[str]:
        """A module's web request handlers (`@app.post("/predict")`, `@router.get(...)`,
        `@bp.route(...)`): the framework calls them after the module has run, so they see the
        module's globals as its body leaves them."""
        if self._route_handlers is None:
            found: dict[str, list[str]] = {}
            for key, fn in sorted(self.functions.items()):
                if fn.kind == "function" and fn.parent is None and any(K.is_route_decorator(d) for d in fn.decorators):
                    found.setdefault(self.function_module[key].module_name, []).append(key)
            self._route_handlers = found
        return self._route_handlers.get(module_name, [])

    def serving_handlers(self, module_name: str) -> list[tuple[str, list[str]]]:
        """A module's TorchServe handler classes (subclasses of `ts.torch_handler`'s handlers),
        each with the methods the server calls on an instance, in order: `initialize(context)`,
        then `handle(data, context)` when the class defines it, else the base `handle`'s
        `preprocess` / `inference` / `postprocess` (those the project defines)."""
        if self._serving_handlers is None:
            found: dict[str, list[tuple[str, list[str]]]] = {}
            for class_key in sorted(self.classes):
                if not any(base.startswith(K.SERVING_HANDLER_PACKAGE) for base in self.external_bases(class_key)):
                    continue
                names = ["initialize", "handle"] if self.find_method(class_key, "handle") else [
                    "initialize", "preprocess", "inference", "postprocess"
                ]
                methods = [m for m in (self.find_method(class_key, n) for n in names) if m is not None]
                found.setdefault(self.class_module[class_key].module_name, []).append((class_key, methods))
            self._serving_handlers = found
        return self._serving_handlers.get(module_name, [])

    def mode_switching_wrapper(self, decorator_key: str) -> tuple[str, str, str] | None:
        """For a project decorator that returns a nested wrapper whose body switches the
        wrapper's first argument with `.eval()` / `.train()`: (wrapper key, that parameter, the
        mode of its first switch); None otherwise. (Facts only: kept per index.)"""
        if decorator_key not in self._wrapper_cache:
            self._wrapper_cache[decorator_key] = self._mode_switching_wrapper(decorator_key)
        return self._wrapper_cache[decorator_key]

    def _mode_switching_wrapper(self, decorator_key: str) -> tuple[str, str, str] | None:
        deco = self.functions[decorator_key]
        module = decorator_key.partition(":")[0]
        for stmt in walk_statements(deco.body):
            if type(stmt) is not Return or type(stmt.value) is not Name:
                continue
            wrapper_key = func_key(module, f"{deco.qualname}.{stmt.value.id}")
            wrapper = self.functions.get(wrapper_key)
            if wrapper is None or not wrapper.params:
                continue
            first = wrapper.params[0].name
            mode = _first_switch(wrapper.body, first)
            if mode is not None:
                return wrapper_key, first, mode
        return None

    def find_method(self, class_key: str, name: str) -> str | None:
        key = (class_key, name)
        if key not in self._method_cache:
            self._method_cache[key] = self._find_method(class_key, name)
        return self._method_cache[key]

    def _find_method(self, class_key: str, name: str) -> str | None:
        for key in self.mro(class_key):
            cls = self.classes[key]
            for method_name, qualname in cls.methods:
                if method_name == name:
                    found = func_key(self.class_module[key].module_name, qualname)
                    if found in self.functions:
                        return found
        return None

    def external_bases(self, class_key: str) -> list[str]:
        out = []
        for key in self.mro(class_key):
            for base in self.class_bases(key):
                if base.kind == "external":
                    out.append(base.target)
                elif base.kind == "unknown" and base.target:
                    out.append(base.target)
        return out

    def fully_known_class(self, class_key: str) -> bool:
        """Every base is a project class or a known external one (nn.Module, object...), so a
        method not found in the project MRO does not exist."""
        for key in self.mro(class_key):
            for base in self.class_bases(key):
                if base.kind == "class":
                    continue
                if base.kind in ("external", "unknown") and base.target:
                    if base.target in K.TORCH_MODULE_CLASSES:
                        continue
                    if external_class_kind(base.target) != "not-module":
                        return False
        return True

    def optimized_fields(self, class_key: str) -> frozenset[str]:
        """Fields of `self` whose parameters an optimizer built in one of the class's methods (or
        its project bases') updates: `self.opt = torch.optim.AdamW(self.model.parameters())` in
        the constructor makes `model` trained in every method, whichever builds the optimizer."""
        found: set[str] = set()
        for key in self.mro(class_key):
            found |= self._own_optimized_fields(key)
        return frozenset(found)

    def _own_optimized_fields(self, class_key: str) -> frozenset[str]:
        """`optimized_fields` from this class's own methods (once per class: a base with many
        methods, as a framework's `PreTrainedModel`, is read once for all its subclasses)."""
        cached = self._optimized_cache.get(class_key)
        if cached is None:
            found: set[str] = set()
            module = self.class_module[class_key]
            for _name, qualname in self.classes[class_key].methods:
                fn = self.functions.get(func_key(module.module_name, qualname))
                # (Only a function calling a class can build an optimizer.)
                if fn is not None and any(called.rpartition(".")[2][:1].isupper() for called in fn.called_names):
                    found |= self._fields_optimized_in(fn, module)
            cached = self._optimized_cache[class_key] = frozenset(found)
        return cached

    def _fields_optimized_in(self, fn: FunctionFacts, module: ModuleFacts) -> set[str]:
        params: dict[str, set[str]] = {}  # local name -> fields whose parameters it holds
        found: set[str] = set()
        for stmt in walk_statements(fn.body):
            t = type(stmt)
            value = stmt_value(stmt)
            if value is None:
                continue
            for expr in walk_expr(value):
                if type(expr) is not Call:
                    continue
                dotted = dotted_name(expr.func)
                sym = self.resolve_name(dotted, module, fn.imports) if dotted else None
                if sym is None or sym.kind != "external" or not K.is_optimizer_class(sym.target):
                    continue
                for arg in (*expr.args, *(v for _, v in expr.kwargs)):
                    for part in walk_expr(arg):
                        if type(part) is Name:
                            found |= params.get(part.id, set())
                    found |= _parameter_fields(arg)
            if t is Assign:
                fields = _parameter_fields(value)
                if fields:
                    for target in stmt.targets:
                        if type(target) is Name:
                            params[target.id] = fields
        return found

    def wiring_constructor(self, class_key: str) -> str | None:
        """The `__init__` of a plain class (no module: a trainer, a guard) that builds objects
        (`self.evaluator = Evaluator(model)`): what it wires up is known to the class's other
        methods (see `FunctionAnalysis._seed_field_aliases`). None for other classes."""
        if class_key in self._wiring_cache:
            return self._wiring_cache[class_key]
        init = None
        if class_key in self.classes and self.class_props(class_key)[0] is False:
            init = self.find_method(class_key, "__init__")
            if init is not None and not any(
                name.rpartition(".")[2][:1].isupper() for name in self.functions[init].called_names
            ):
                init = None
        self._wiring_cache[class_key] = init
        return init

    def constructor_wiring(self, class_key: str) -> "Wiring":
        """What a plain class's constructor wires up, read from its statements: fields holding one
        object under two paths (`self.model = model; self.evaluator = Evaluator(model)` whose
        constructor keeps its argument as `self.model`: `self.evaluator.model` is `self.model`),
        the project classes of the helper objects it builds, and the project classes it builds
        its fields from. Fields other methods rebind are left out."""
        cached = self._wiring_facts.get(class_key)
        if cached is not None:
            return cached
        wiring = NO_WIRING
        init = self.wiring_constructor(class_key)
        if init is not None:
            wiring = self._read_wiring(init, self.rebound_fields(class_key))
        self._wiring_facts[class_key] = wiring
        return wiring

    def _read_wiring(self, init: str, rebound: frozenset[str]) -> "Wiring":
        fn = self.functions[init]
        module = self.function_module[init]
        params = {p.name for p in fn.params[1:]}
        values = {attr: [_unwrap_moves(v) for v in found] for attr, found in self_assignments(fn.body).items()}
        holder: dict[str, str] = {}  # a parameter -> the field holding it as given
        for attr, found in sorted(values.items()):
            if len(found) == 1 and type(found[0]) is Name and found[0].id in params and attr not in rebound:
                holder.setdefault(found[0].id, attr)
        aliases: list[tuple[str, str]] = []
        classes: list[tuple[str, str]] = []
        built: list[tuple[str, str]] = []
        for attr, found in sorted(values.items()):
            value = found[0]
            if len(found) != 1 or attr in rebound or type(value) is not Call:
                continue
            dotted = dotted_name(value.func)
            sym = self.resolve_name(dotted, module, fn.imports) if dotted else None
            if sym is None or sym.kind != "class" or sym.target not in self.classes:
                continue
            built.append((attr, sym.target))
            if self.class_props(sym.target)[0] is not False:
                continue
            classes.append((f"self.{attr}", sym.target))
            for field, arg in self._stored_arguments(sym.target, value):
                if type(arg) is Name and arg.id in holder:
                    aliases.append((f"self.{attr}.{field}", f"self.{holder[arg.id]}"))
                elif type(arg) is Attr and type(arg.value) is Name and arg.value.id == "self" and arg.attr not in rebound:
                    aliases.append((f"self.{attr}.{field}", f"self.{arg.attr}"))
        return Wiring(tuple(aliases), tuple(classes), tuple(built))

    def _stored_arguments(self, class_key: str, call: Call) -> list[tuple[str, Expr]]:
        """(field, argument) for the arguments of `call` (a constructor call of the class) that
        its `__init__` stores as given in a field (`self.model = model`)."""
        init = self.find_method(class_key, "__init__")
        if init is None:
            return []
        fn = self.functions[init]
        names = [p.name for p in fn.params[1:] if p.kind in ("pos", "posonly")]
        bound: dict[str, Expr] = dict(zip(names, call.args)) if not call.has_star else {}
        bound.update((k, v) for k, v in call.kwargs if k is not None)
        return [
            (attr, bound[value.id])
            for attr, values in self_assignments(fn.body).items()
            for value in values
            if type(value) is Name and value.id in bound
        ]

    def rebound_fields(self, class_key: str) -> frozenset[str]:
        """Fields of `self` assigned by a method other than the constructor, in the class, its
        project bases or subclasses (`self.net = DDP(self.net)` in a setup method): what the
        constructor put there is then not all they may hold."""
        cached = self._rebound_cache.get(class_key)
        if cached is None:
            found: set[str] = set()
            for key in {*self.mro(class_key), *self.subclasses(class_key)}:
                module = self.class_module.get(key)
                if module is None:
                    continue
                for name, qualname in self.classes[key].methods:
                    fn = self.functions.get(func_key(module.module_name, qualname))
                    if fn is not None and name != "__init__":
                        found.update(self_assignments(fn.body))
            cached = self._rebound_cache[class_key] = frozenset(found)
        return cached

    def class_props(self, class_key: str) -> tuple[bool | None, bool]:
        """(is_module, is_sensitive) for a project class.

        is_module: True (subclasses nn.Module), False (plainly not), None (an unknown external base).
        is_sensitive: contains Dropout/BatchNorm/... or reads `self.training`, transitively; unknown
        parts count as sensitive.
        """
        cached = self._class_cache.get(class_key)
        if cached is not None:
            return cached
        # Provisional answer breaks cycles (a class constructing itself, mutual references).
        self._class_cache[class_key] = (None, False)
        is_module: bool | None = False
        sensitive = False
        for key in self.mro(class_key):
            cls = self.classes[key]
            facts = self.class_module[key]
            for base in self.class_bases(key):
                if base.kind == "class":
                    continue  # in the MRO walk already
                if base.kind in ("external", "unknown") and base.target:
                    kind = external_class_kind(base.target)
                    if kind == "module":
                        is_module = True
                        if base.target not in K.MODULE_BASES and K.torch_nn_class(base.target) not in (
                            None,
                            "Module",
                        ):
                            sensitive = sensitive or K.torch_nn_class(base.target) in K.SENSITIVE_TORCH_NN
                    elif kind == "unknown":
                        if is_module is False:
                            is_module = None
                        sensitive = True
                elif base.kind == "builtin" or base.kind == "global":
                    pass
            if cls.reads_training_flag:
                sensitive = True
            if not sensitive:
                sensitive = self._calls_sensitive(cls, facts, class_key)
        result = (is_module, sensitive)
        self._class_cache[class_key] = result
        return result

    def _calls_sensitive(self, cls: ClassFacts, facts: ModuleFacts, owner: str) -> bool:
        imports: tuple[ImportBinding, ...] = ()
        for _, q in cls.methods:
            fn = self.functions.get(func_key(facts.module_name, q))
            if fn is not None:
                imports += fn.imports
        return self._names_sensitive(cls.called_names, facts, imports, owner, set())

    def _names_sensitive(
        self,
        names: frozenset[str],
        facts: ModuleFacts,
        imports: tuple[ImportBinding, ...],
        owner: str,
        visited: set[str],
    ) -> bool:
        """Does code calling these names build mode-sensitive layers? Project functions (module
        builders like `conv_block()` returning an nn.Sequential) are followed transitively."""
        for called in sorted(names):
            if called.split(".", 1)[0] in ("self", "super", "cls"):
                continue
            sym = self.resolve_name(called, facts, imports)
            if sym is None:
                continue
            if sym.kind == "class" and sym.target != owner:
                if self.class_props(sym.target)[1]:
                    return True
            elif sym.kind == "function" and sym.target not in visited and len(visited) < 64:
                visited.add(sym.target)
                fn = self.functions[sym.target]
                if self._names_sensitive(
                    fn.called_names, self.function_module[sym.target], fn.imports, owner, visited
                ):
                    return True
            elif sym.kind == "external":
                if external_call_sensitive(sym.target):
                    return True
        return False


@lru_cache(maxsize=4096)
def _first_switch(body: tuple, name: str) -> str | None:
    """The mode of the first `name.eval()` / `name.train()` statement in a body, if any."""
    for stmt in walk_statements(body):
        if type(stmt) is not ExprStmt or type(stmt.expr) is not Call or stmt.expr.args or stmt.expr.kwargs:
            continue
        func = stmt.expr.func
        if type(func) is Attr and type(func.value) is Name and func.value.id == name:
            if func.attr == "eval":
                return EVAL
            if func.attr == "train":
                return TRAIN
    return None



def external_class_kind(qualname: str) -> str:
    """"module", "not-module" or "unknown" for a class/base outside the project."""
    if qualname in K.MODULE_BASES or K.torch_nn_class(qualname) is not None:
        return "module"
    last = qualname.rsplit(".", 1)[-1]
    if qualname in ("object", "abc.ABC", "typing.Generic", "typing.Protocol", "enum.Enum") or last in (
        "object",
        "ABC",
        "Generic",
        "Protocol",
        "Enum",
        "NamedTuple",
        "TypedDict",
        "Exception",
        "Dataset",
        "IterableDataset",
        "DataLoader",
        "Sampler",
        "Function",
        "Optimizer",
        "dict",
        "list",
        "tuple",
        "str",
        "int",
        "float",
    ):
        return "not-module"
    if qualname.startswith(
        ("torch.utils.data", "torch.optim", "torch.autograd", "typing.", "collections.", "enum.", K.SERVING_HANDLER_PACKAGE)
    ):
        return "not-module"
    root = qualname.partition(".")[0]
    if root in sys.stdlib_module_names or root in K.NON_TORCH_PACKAGES:
        return "not-module"  # `tempfile.TemporaryDirectory`, `argparse.Namespace`, `matplotlib.path.Path`
    if K.is_non_module_class_name(qualname):
        return "not-module"
    return "unknown"


@lru_cache(maxsize=4096)
def external_call_sensitive(qualname: str) -> bool:
    """Does calling this external name (inside a module's code) make the module mode-sensitive?"""
    nn_cls = K.torch_nn_class(qualname)
    if nn_cls is not None:
        return nn_cls in K.SENSITIVE_TORCH_NN
    if K.is_functional_dropout(qualname):
        return True
    if K.is_factory(qualname) or qualname.endswith(".from_pretrained"):
        return True
    if qualname.startswith(("torch.", "numpy.", "math.", "typing.", "collections.", "functools.", "itertools.")):
        return False
    last = qualname.rsplit(".", 1)[-1]
    # An unknown external class used as a submodule might contain anything.
    return last[:1].isupper() and external_class_kind(qualname) == "unknown"


def receiver_attr_chain(expr: Expr) -> tuple[Expr, list[str]]:
    """Split `a.b.c` into (`a`, ["b", "c"])."""
    attrs: list[str] = []
    while isinstance(expr, Attr):
        attrs.append(expr.attr)
        expr = expr.value
    return expr, list(reversed(attrs))


def is_name(expr: Expr, name: str) -> bool:
    return isinstance(expr, Name) and expr.id == name


def is_property(fn: FunctionFacts) -> bool:
    """`@property` / `@functools.cached_property` (read as an attribute: `self.model`)."""
    for dec in fn.decorators:
        name = dotted_name(dec)
        if name is not None and name.rsplit(".", 1)[-1] in ("property", "cached_property"):
            return True
    return False


def root_package(facts: ModuleFacts) -> str:
    """The name of the folder a module's name starts from (its import root): `proj` for
    `proj/train.py` named `train`."""
    path = os.path.abspath(facts.path)
    depth = facts.module_name.count(".") + (os.path.basename(path) == "__init__.py")
    folder = os.path.dirname(path)
    for _ in range(depth):
        folder = os.path.dirname(folder)
    return os.path.basename(folder)


def _inside_root_package(dotted: str, near: ModuleFacts) -> str | None:
    """`utils.meters` for `proj.utils.meters` imported inside `proj/` when `proj/` has no
    `__init__.py` (a namespace package, run as `python -m proj.train` from its parent) and
    `proj/` itself is the import root: its modules are named from inside it."""
    head, dot, rest = dotted.partition(".")
    return rest if dot and head == root_package(near) else None


def _parameter_fields(expr: Expr) -> set[str]:
    """`model` for every `self.model.parameters()` (or `named_parameters()`) inside `expr`."""
    out = set()
    for part in walk_expr(expr):
        if type(part) is Call and type(part.func) is Attr and part.func.attr in ("parameters", "named_parameters"):
            text = path_text(part.func.value)
            if text and text.startswith("self."):
                out.add(text.split(".")[1])
    return out

