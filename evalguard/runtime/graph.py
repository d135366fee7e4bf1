"""Which modules are roots, and their forward pre-hooks.

A root is a module that no other module contains and that has parameters or children (a model,
a DDP or torch.compile wrapper, a model in a plain Python list), or a non-leaf module whose mode
the user sets directly. Roots are found without a global forward hook:

- torch's global module/parameter *registration* hooks fire on `self.x = Module/Parameter`,
  `add_module`, `register_parameter`: construction time only. A module registered into another
  stops being a root; the container becomes one. They are called before the insertion, so the
  new child counts as content already.
- `Module.__setstate__` (deep copies, unpickled models) reports modules built without
  registration.
- One pass over the gc's objects finds modules that existed before tracing started, and again
  when an optimizer steps parameters of no known root.

Parent links are weak and checked against `_modules` when read, so replaced or deleted children
are not counted. Registration below a root marks its structure cache dirty.
"""

from __future__ import annotations

import gc
import weakref

from torch import nn

from evalguard.runtime.state import RootState


class RootRegistry:
    def __init__(self, lock, make_hook, user_set) -> None:
        self.lock = lock  # shared with the tracer (an RLock)
        self.epoch = 0  # bumped whenever the set of roots or a root's structure changes
        self.states: dict[int, RootState] = {}
        self._parents: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()  # child -> WeakSet
        self._make_hook = make_hook  # RootState -> forward pre-hook
        self._user_set = user_set  # module -> whether the user switched its mode directly

    # ------------------------------------------------------------------------------ events

    def module_registered(self, parent, name, child) -> None:
        with self.lock:
            old = parent.__dict__.get("_modules", {}).get(name)
            if old is not None and old is not child:
                self._unlink(parent, old)
            if child is not None:
                self._link(parent, child)
                self._became_child(child)
                self.consider(parent, content=True)  # the child is inserted after this hook
            self._mark_dirty(parent)

    def parameter_registered(self, module) -> None:
        with self.lock:
            self.consider(module, content=True)
            self._mark_dirty(module)

    def restored(self, module, is_ours) -> None:
        """A module rebuilt by `__setstate__` (deepcopy, unpickling): its children exist already."""
        with self.lock:
            hooks = module.__dict__.get("_forward_pre_hooks")
            if hooks:
                for key in [k for k, h in hooks.items() if is_ours(h)]:
                    del hooks[key]
            for child in module.__dict__.get("_modules", {}).values():
                if child is not None:
                    self._link(module, child)
                    self._became_child(child)
            self.consider(module)

    def mode_set(self, module) -> None:
        """The user switched this module's mode directly: watch it even inside a parent."""
        if id(module) in self.states:
            return
        with self.lock:
            if not self._has_parent(module):
                self.consider(module)
            elif module.__dict__.get("_modules"):
                self._hook(module, sub=True)

    def scan(self) -> None:
        """Find modules that exist already: one pass over the objects the gc tracks."""
        module_type = nn.Module
        # type(), not isinstance(): a proxy's `__class__` property may warn or raise.
        found = [obj for obj in gc.get_objects() if issubclass(type(obj), module_type)]
        with self.lock:
            for module in found:
                for child in module.__dict__.get("_modules", {}).values():
                    if child is not None:
                        self._link(module, child)
            for module in found:
                self.consider(module)

    # ------------------------------------------------------------------------------ queries

    def refresh(self, st: RootState) -> bool:
        with self.lock:
            return st.refresh() if st.dirty else st.ref() is not None

    def owners(self, stepped: frozenset) -> list[RootState]:
        """The outermost roots holding any of these parameter ids."""
        with self.lock:
            candidates = []
            for st in list(self.states.values()):
                if st.dirty and not st.refresh():
                    continue
                if st.ref() is not None and not st.param_ids.isdisjoint(stepped):
                    candidates.append(st)
            # A sub-root or a wrapped module lies inside another owner: keep the outer one.
            return [
                st
                for st in candidates
                if not any(other is not st and id(st.ref()) in other.module_ids for other in candidates)
            ]

    def inside(self, st: RootState) -> list[RootState]:
        """Other roots within this one (sub-roots, wrapped modules)."""
        with self.lock:
            return [o for o in self.states.values() if o is not st and id(o.ref()) in st.module_ids]

    # ------------------------------------------------------------------------------ hooking

    def consider(self, module, content: bool = False) -> None:
        """Hook a module that nothing contains and that has parameters or children."""
        if id(module) in self.states:
            return
        if not (content or module.__dict__.get("_modules") or module.__dict__.get("_parameters")):
            return
        if self._has_parent(module):
            return
        self._hook(module, sub=False)

    def unhook_all(self) -> None:
        with self.lock:
            for st in list(self.states.values()):
                self._unhook(st)
            self.states.clear()

    def _hook(self, module, sub: bool) -> None:
        key = id(module)
        registry = weakref.ref(self)

        def dead(ref, key=key):
            owner = registry()
            if owner is not None:
                owner._drop(key, ref)

        st = RootState(module, dead, sub=sub)
        st.handle = module.register_forward_pre_hook(self._make_hook(st))
        self.states[key] = st
        self.epoch += 1

    def _unhook(self, st: RootState) -> None:
        if st.handle is not None:
            st.handle.remove()
            st.handle = None
        if st.capture is not None:
            st.capture.remove()
            st.capture = None
        root = st.ref()
        if root is not None and self.states.get(id(root)) is st:
            del self.states[id(root)]
        self.epoch += 1

    def _drop(self, key: int, ref) -> None:
        with self.lock:
            st = self.states.get(key)
            if st is not None and st.ref is ref:
                del self.states[key]
                self.epoch += 1

    def _became_child(self, child) -> None:
        st = self.states.get(id(child))
        if st is None or st.sub or st.ref() is not child:
            return
        if self._user_set(child) and child.__dict__.get("_modules"):
            st.sub = True  # the user switches it directly: keep watching it
            return
        self._unhook(st)

    # ------------------------------------------------------------------------------ parent links

    def _link(self, parent, child) -> None:
        parents = self._parents.get(child)
        if parents is None:
            parents = self._parents[child] = weakref.WeakSet()
        parents.add(parent)

    def _unlink(self, parent, child) -> None:
        parents = self._parents.get(child)
        if parents is not None:
            parents.discard(parent)
        self.consider(child)

    def _has_parent(self, module) -> bool:
        for parent in list(self._parents.get(module, ())):
            if any(c is module for c in parent.__dict__.get("_modules", {}).values()):
                return True
        return False

    def _mark_dirty(self, module) -> None:
        seen = set()
        stack = [module]
        while stack:
            node = stack.pop()
            if id(node) in seen:
                continue
            seen.add(id(node))
            st = self.states.get(id(node))
            if st is not None and st.ref() is node:
                st.dirty = True
            stack.extend(self._parents.get(node, ()))
        self.epoch += 1
