"""Whole-project analysis: function summaries to a fixpoint over the call graph.

Every function is analysed once; when a callee's summary changes, its callers are analysed again
(a worklist), and so is a function whose callers pass new objects for a parameter it calls
methods on; effects and requirements travel across functions and files until nothing changes.
Each function's last analysis used the final summaries of its callees, so its forward
observations are the ones the rules read. Only functions that may lead to a finding are
analysed (see `relevant_functions`), and when only some files are reported on (the others are
context), only what those need (see `needed_functions`).
"""

from __future__ import annotations

import heapq
from collections import deque
from collections.abc import Callable

from evalguard.analysis.flow import Context, FunctionAnalysis
from evalguard.analysis.project import ProjectIndex, func_key
from evalguard.analysis.relevance import is_relevant, relevant_aliases
from evalguard.analysis.summaries import EMPTY_SUMMARY, Event, Forward, FunctionResult
from evalguard.parsing.ir import FunctionFacts

# A function re-analysed this often stops being revisited (a safety net against oscillation).
MAX_VISITS = 12


def analyze_project(
    index: ProjectIndex,
    errors: list[str] | None = None,
    ctx: Context | None = None,
    needed: frozenset[str] | None = None,
    graph: CallerGraph | None = None,
) -> tuple[Context, list[Forward], list[Event]]:
    """`needed`: the functions whose results are wanted, with every function that may call them
    (see `needed_functions`, `relevant_functions`). Then only they, and the functions their
    analyses call (on demand), are analysed: a function nothing needed calls cannot change a
    needed one's result. One exception is followed: a function analysed on demand that resolves
    methods on what its callers pass (`cb.on_epoch_end()`) depends on all its callers, so they
    are analysed too. None: every function. `graph`: the `CallerGraph`, if already built."""
    run = ProjectAnalysis(index, ctx if ctx is not None else Context(index), needed, graph, errors)
    run.enqueue(callees_first(index, needed, graph))
    run.run()
    return run.ctx, *run.outputs()


class ProjectAnalysis:
    """The worklist and what it has found so far: kept after a run (see `analysis.incremental`) so
    that an edit re-analyses only the functions whose results it may change."""

    def __init__(
        self,
        index: ProjectIndex,
        ctx: Context,
        needed: frozenset[str] | None,
        graph: CallerGraph | None,
        errors: list[str] | None = None,
    ) -> None:
        self.index = index
        self.ctx = ctx
        self.graph = graph
        self.errors = errors
        self.closed = set(needed) if needed is not None else None  # closed under callers
        # callee -> the functions whose analyses called it (they read its summary).
        self.callers: dict[str, set[str]] = {}
        self.results: dict[str, FunctionResult] = {}
        self.visits: dict[str, int] = {}
        self.queue: deque[str] = deque()
        self.queued: set[str] = set()
        # Functions to analyse again (a callee's summary changed, new objects passed), run once the
        # queue is empty, callees first (by `rank`): a function revisited in a recursive cycle
        # (a summary that grows a path step by step) settles before its callers run again.
        self.again: list[tuple[float, str]] = []
        self.rank: dict[str, float] = {}
        self.first_calls: list[str] = []  # callees never analysed that the current analysis met
        # Analyses run by this object, and the functions they were of (`check --verbose`).
        self.analyses = 0
        self.analysed: set[str] = set()
        # Called before an analysed function is queued again (None: nothing to do); see
        # `incremental`, where a result kept from an earlier run must be re-derived first.
        self.reopen: Callable[[str], None] | None = None

    def enqueue(self, keys) -> None:
        rank = self.rank
        for key in keys:
            if key not in rank:
                rank[key] = len(rank)
            if key not in self.queued:
                self.queue.append(key)
                self.queued.add(key)

    def _requeue(self, key: str) -> None:
        rank = self.rank.get(key)
        if rank is None:
            rank = self.rank[key] = len(self.rank)
        heapq.heappush(self.again, (rank, key))
        self.queued.add(key)

    def demand(self, callee: str, caller: str) -> None:
        if callee not in self.visits and callee not in self.queued:
            self.first_calls.append(callee)
            self.queued.add(callee)
            if callee not in self.rank:
                self.rank[callee] = self.rank.get(caller, len(self.rank)) - 0.5  # before its caller

    def run(self) -> None:
        index, ctx, queue, queued, visits = self.index, self.ctx, self.queue, self.queued, self.visits
        first_calls = self.first_calls
        demand = self.demand if self.closed is not None else None
        again = self.again
        while queue or again:
            key = queue.popleft() if queue else heapq.heappop(again)[1]
            queued.discard(key)
            visits[key] = visits.get(key, 0) + 1
            self.analyses += 1
            self.analysed.add(key)
            try:
                on_call = _recorder(self.callers, key, demand, ctx)
                result = FunctionAnalysis(ctx, key, on_call=on_call).run()
                if first_calls:
                    # Callees first, as in a whole run's order: this analysis saw them without
                    # summaries, so its result is dropped (a recursive function could otherwise keep
                    # what it concluded from that for good); it runs again right after them.
                    ctx.discard_passes()
                    queue.extendleft(reversed([*first_calls, key]))
                    queued.add(key)
                    first_calls.clear()
                    visits[key] -= 1
                    continue
            except RecursionError:
                # A pathologically deep expression: skip this function, keep the rest.
                result = FunctionResult(EMPTY_SUMMARY)
                ctx.discard_passes()
            except Exception as exc:  # noqa: BLE001 - one function must not hide the others' results
                if self.errors is not None:
                    path = index.function_module[key].path
                    self.errors.append(f"EG000 internal error in {path}: while analysing {key}: {exc!r}, please report")
                result = FunctionResult(EMPTY_SUMMARY)
                ctx.discard_passes()
            ctx.commit_passes(key)
            # A failed analysis still queues the callees it met (they may be needed elsewhere).
            queue.extendleft(reversed(first_calls))
            first_calls.clear()
            self.results[key] = result
            closed = self.closed
            if closed is not None and ctx.new_watchers:
                for watcher in ctx.new_watchers:
                    if watcher not in closed:
                        self.graph = self.graph or CallerGraph(index)
                        for caller in self.graph.closure({watcher}, known=closed):
                            closed.add(caller)
                            if caller not in visits and caller not in queued:
                                queue.append(caller)
                                queued.add(caller)
                        closed.add(watcher)
            ctx.new_watchers.clear()
            rerun, ctx.stale = ctx.stale, set()  # callers passed new objects for a parameter they resolve methods on
            if result.summary != ctx.summary(key):
                # (A first summary that says nothing changes nothing for the callers analysed before
                # it: they read the empty summary already.)
                rerun |= self.callers.get(key, set())
            ctx.summaries[key] = result.summary
            for other in sorted(rerun):
                if other not in queued and visits.get(other, 0) < MAX_VISITS:
                    if self.reopen is not None:
                        self.reopen(other)
                    if other not in queued:
                        self._requeue(other)

    def outputs(self) -> tuple[list[Forward], list[Event]]:
        forwards: list[Forward] = []
        events: list[Event] = []
        for key in sorted(self.results):
            forwards.extend(self.results[key].forwards)
            events.extend(self.results[key].events)
        return forwards, events


def needed_functions(index: ProjectIndex, report: set[str], graph: CallerGraph | None = None) -> frozenset[str] | None:
    """The functions whose results a run reports on: those of the `report` files, and the context
    functions that may call them, transitively (None when every module is reported on).

    Callers count because results travel up: a requirement of a checked function may be broken in
    a caller (a framework's base trainer, in the context, calling a hook the checked file
    overrides), and what callers pass decides whether a parameter is a mode-sensitive model."""
    needed = {key for key, facts in index.function_module.items() if facts.path in report}
    if len(needed) == len(index.functions):
        return None
    return (graph or CallerGraph(index)).closure(needed)


def relevant_functions(index: ProjectIndex, graph: CallerGraph | None = None) -> frozenset[str] | None:
    """The functions a whole-project run analyses (None: all of them): those that mention a
    mode-relevant name, and their callers, transitively (see `relevance`). The plain functions
    these call are analysed on demand."""
    aliases: dict[str, frozenset[str]] = {}
    seeds = set()
    for key, fn in index.functions.items():
        facts = index.function_module[key]
        if facts.path not in aliases:
            aliases[facts.path] = relevant_aliases(facts.imports)
        if is_relevant(fn, aliases[facts.path]):
            seeds.add(key)
    needed = (graph or CallerGraph(index)).closure(seeds)
    return None if len(needed) == len(index.functions) else needed


class CallerGraph:
    """Who may call whom, known before the analysis. Plain calls are matched by resolution.
    Method calls are matched by name, since their receiver is not known yet: on a local object (a
    parameter: any object may come in) whatever the class, on `self` within the same class
    hierarchy. A nested function or lambda counts as called by its enclosing function, which may
    run it in any way (pass it as a callback, return it, store it)."""

    def __init__(self, index: ProjectIndex) -> None:
        self.index = index
        self.callers_of: dict[str, set[str]] = {}  # function key -> callers
        self.by_method_name: dict[str, set[str]] = {}  # "name" -> callers of `obj.name()` on a local object
        self.by_self_method: dict[str, set[str]] = {}  # "name" -> callers of `self.name()`
        self.callees: dict[str, list[str]] = {}  # function key -> statically resolved callees
        self._families: dict[str, set[str]] = {}
        memo: dict = {}
        for key in index.functions:
            self._add(key, memo)

    def _add(self, key: str, memo: dict) -> None:
        index = self.index
        fn = index.functions[key]
        if fn.parent is not None:
            parent = func_key(index.function_module[key].module_name, fn.parent)
            if parent in index.functions:
                self.callers_of.setdefault(key, set()).add(parent)
        self.callees[key] = _static_callees(index, key, memo)
        for callee in self.callees[key]:
            self.callers_of.setdefault(callee, set()).add(key)
        for called, name in _object_method_calls(fn):
            if name in _GUARD_METHODS:
                guard = _guard_field_class(index, key, called)
                if guard is not None:
                    # `with self.lock:`: the guard class the constructor builds, or none
                    # (`threading.Lock()`), not every guard's method by name.
                    method = index.find_method(guard, name) if guard else None
                    if method is not None and method != key:
                        self.callees[key].append(method)
                        self.callers_of.setdefault(method, set()).add(key)
                    continue
            if called.count(".") == 1 and called.startswith("self.") and fn.class_qualname is not None:
                self.by_self_method.setdefault(name, set()).add(key)  # `self.name()`
            else:
                self.by_method_name.setdefault(name, set()).add(key)

    def patch(self, index: ProjectIndex, old: dict[str, FunctionFacts], keys: set[str]) -> None:
        """Turn this graph (of the project before an edit) into the graph of `index`, the project
        after it, where only the functions `keys` may differ (`old`: their facts before, where
        they existed): the edit left what other functions resolve against unchanged (see
        `incremental`)."""
        self.index = index
        for key in keys:
            fn = old.get(key)
            for callee in self.callees.pop(key, ()):
                discard_member(self.callers_of, callee, key)
            if fn is None:
                continue
            if fn.parent is not None:
                discard_member(self.callers_of, key, func_key(key.partition(":")[0], fn.parent))
            for _called, name in _object_method_calls(fn):
                discard_member(self.by_self_method, name, key)
                discard_member(self.by_method_name, name, key)
        memo: dict = {}
        for key in sorted(keys):
            if key in index.functions:
                self._add(key, memo)

    def __getstate__(self) -> dict:
        # Kept with an analysis (see `incremental`); the index is the next run's.
        return {k: v for k, v in self.__dict__.items() if k != "index"}

    def callers(self, key: str) -> set[str]:
        index = self.index
        fn = index.functions[key]
        reached = self.callers_of.get(key, set())
        class_key = _class_key(index, key)
        if class_key is not None:
            reached = reached | self.by_method_name.get(fn.name, set())
            if class_key not in self._families:
                self._families[class_key] = _class_family(index, class_key)
            family = self._families[class_key]
            reached |= {c for c in self.by_self_method.get(fn.name, ()) if _class_key(index, c) in family}
        return reached

    def closure(self, start: set[str] | frozenset[str], known: set[str] | frozenset[str] = frozenset()) -> frozenset[str]:
        """`start` and every function that may call one of them, transitively. `known`: a set
        already closed under callers, not walked again (what it holds is left out of the answer)."""
        found = set(start) - known
        stack = list(found)
        while stack:
            for caller in self.callers(stack.pop()):
                if caller not in found and caller not in known:
                    found.add(caller)
                    stack.append(caller)
        return frozenset(found)


def discard_member(mapping: dict, key, member) -> None:
    """Remove `member` from the set at `key`, and the key once its set is empty."""
    members = mapping.get(key)
    if members is not None:
        members.discard(member)
        if not members:
            del mapping[key]


def _object_method_calls(fn) -> list[tuple[str, str]]:
    """(dotted call, method name) for the calls on `self` or a local object (`self.net.eval()`,
    `trainer.fit()`), whose receiver only the analysis knows; not on a module, an import or a
    global (`LOGGER.info()`): those resolve statically."""
    out = []
    for called in fn.called_names:
        head, dot, _ = called.partition(".")
        if dot and (head == "self" or head in fn.local_names):
            out.append((called, called.rpartition(".")[2]))
    return out


_GUARD_METHODS = frozenset({"__enter__", "__exit__"})


def _guard_field_class(index: ProjectIndex, key: str, called: str) -> str | None:
    """For `self.<field>.__enter__` (a `with self.<field>:` in a method): the project class the
    class's constructor builds that field from ("" when it builds none the analysis knows): the
    analysis resolves such a guard through the constructor only (`ProjectIndex.constructor_wiring`).
    None for other receivers (a local object: any guard may be there)."""
    parts = called.split(".")
    class_key = _class_key(index, key)
    if len(parts) != 3 or parts[0] != "self" or class_key is None:
        return None
    return dict(index.constructor_wiring(class_key).classes).get(f"self.{parts[1]}", "")


def _class_key(index: ProjectIndex, key: str) -> str | None:
    """The class a method belongs to (None for a plain function)."""
    fn = index.functions[key]
    return f"{index.function_module[key].module_name}:{fn.class_qualname}" if fn.class_qualname else None


def _class_family(index: ProjectIndex, class_key: str) -> set[str]:
    """A class, its project bases and its project subclasses: where `self.name()` may run its method."""
    if class_key not in index.classes:
        return {class_key}
    return {class_key, *index.mro(class_key), *index.subclasses(class_key)}


def _recorder(callers: dict[str, set[str]], caller: str, demand: Callable[[str, str], None] | None, ctx: Context):
    def record(callee: str) -> None:
        callers.setdefault(callee, set()).add(caller)
        ctx.log(caller, "call", callee)
        if demand is not None:
            demand(callee, caller)

    return record


def callees_first(
    index: ProjectIndex, starts: frozenset[str] | None = None, graph: CallerGraph | None = None
) -> list[str]:
    """Functions ordered so that callees come before their callers (depth-first post-order), module
    bodies last: most first analyses then see their callees' summaries already, and fewer
    functions need a second visit. Only the order changes; the worklist still runs to the same
    fixpoint. `starts`: only these and the functions they reach statically (default: all).
    `graph`: its callees are reused rather than resolved again.

    The set is what static calls reach; the order also follows method calls on objects
    (`self.model.export()`, `trainer.fit()`) to the set's methods of that name: their receiver is
    known only during the analysis, and a caller analysed before such a callee is analysed again
    once the callee's summary arrives (on ultralytics, four in five second visits)."""
    memo: dict[tuple[str, str], object] = {}

    def static_callees(key: str) -> list[str]:
        return graph.callees[key] if graph is not None else _static_callees(index, key, memo)

    keys = sorted(index.functions if starts is None else starts, key=lambda k: (k.endswith(":<module>"), k))
    members = set(_post_order(keys, static_callees))
    methods: dict[str, list[str]] = {}
    for key in sorted(members):
        fn = index.functions[key]
        if fn.class_qualname is not None:
            methods.setdefault(fn.name, []).append(key)

    def callees(key: str) -> list[str]:
        out = list(static_callees(key))
        for _, name in sorted(_object_method_calls(index.functions[key])):
            out.extend(methods.get(name, ()))
        return out

    order = _post_order(keys, callees)  # reaches the same members: it follows more edges, within them
    bodies = [k for k in order if k.endswith(":<module>")]
    return [k for k in order if not k.endswith(":<module>")] + bodies


def _post_order(starts: list[str], callees: Callable[[str], list[str]]) -> list[str]:
    """Depth-first post-order of what `starts` reach through `callees`."""
    order: list[str] = []
    done: set[str] = set()
    for start in starts:
        if start in done:
            continue
        done.add(start)
        stack = [(start, iter(callees(start)))]
        while stack:
            key, pending = stack[-1]
            for callee in pending:
                if callee not in done:
                    done.add(callee)
                    stack.append((callee, iter(callees(callee))))
                    break
            else:
                stack.pop()
                order.append(key)
    return order


def _static_callees(index: ProjectIndex, key: str, memo: dict) -> list[str]:
    fn = index.functions[key]
    facts = index.function_module[key]
    class_key = _class_key(index, key)
    out: list[str] = []
    for name in sorted(fn.called_names):
        head, _, rest = name.partition(".")
        if head == "self" and class_key is not None and rest and "." not in rest:
            target = index.find_method(class_key, rest) if class_key in index.classes else None
        elif name == "super" or (head == "super" and rest and "." not in rest):
            # `super().validate()`, as the analysis resolves it; a bare `super` is usually the same
            # method one class up (`super().__init__(...)`, `super().forward(x)`).
            wanted = rest if name != "super" else fn.name
            target = index.super_method(class_key, wanted) if class_key is not None else None
        elif f"{key}.{name}" in index.functions:
            target = f"{key}.{name}"  # a function defined in this body
        else:
            sym = _resolve(index, name, facts, fn.imports, memo)
            if sym is not None and sym.kind == "class":
                # A constructor call runs the class's `__init__`; a guard's `__enter__` and
                # `__exit__` run when a `with` statement enters the object built.
                target = index.find_method(sym.target, "__init__")
                for dunder in ("__enter__", "__exit__"):
                    method = index.find_method(sym.target, dunder)
                    if method is not None and method != key:
                        out.append(method)
            else:
                target = sym.target if sym is not None and sym.kind == "function" else None
        if target is not None and target != key and target in index.functions:
            out.append(target)
    if fn.kind == "module":
        out.extend(index.route_handlers(facts.module_name))  # called once the module has run
        for _handler_class, methods in index.serving_handlers(facts.module_name):
            out.extend(methods)  # and so are a serving handler's lifecycle methods
    return out


def _resolve(index: ProjectIndex, name: str, facts, imports, memo: dict):
    """`index.resolve_name`, remembered per file for functions without imports of their own
    (most of them: the same names are called from many functions of a module)."""
    if imports:
        return index.resolve_name(name, facts, imports)
    key = (facts.path, name)  # two scripts may share a module name, never a path
    if key not in memo:
        memo[key] = index.resolve_name(name, facts, imports)
    return memo[key]
