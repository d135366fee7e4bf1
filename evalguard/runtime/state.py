"""Per-root bookkeeping: the structure facts the checks need, cached.

A *root* is a module the tracer hooks: a module no other module contains (a model, a DDP or
torch.compile wrapper), or a non-leaf module whose mode the user set directly. The structure
cache (wrapper chain, mode-sensitive layers with their paths, parameter and module ids) is
rebuilt only when the tracer marks the root dirty: module and parameter registration anywhere
below it (torch's registration hooks fire on every `self.x = Module/Parameter`, `add_module`,
`register_parameter`). Module structure rarely changes after construction, so the hot paths
(forward, step) only read the cache.

The mode-dependent verdicts (which sensitive layers are active) are cached per root against
`(tracer.mode_epoch, effective.training)`: every outermost `train()`/`eval()` call bumps the
epoch, and a direct `model.training = x` on the root changes the second part. A flag assigned
directly on an inner module changes neither, so verdicts are also recomputed every
`REFRESH_EVERY` uses; such a change is seen within that many forwards/steps.
"""

from __future__ import annotations

import weakref

from evalguard.runtime.sensitivity import layer_kind

REFRESH_EVERY = 64


class RootState:
    __slots__ = (
        "ref",
        "name",
        "handle",
        "sub",
        "dirty",
        "chain",
        "effective",
        "sensitive",
        "param_ids",
        "module_ids",
        "fwd_epoch",
        "fwd_training",
        "fwd_age",
        "fwd_view",
        "step_key",
        "step_age",
        "step_view",
        "forwards",
        "last_forward",
        "last_forward_seq",
        "capture",
        "__weakref__",
    )

    def __init__(self, module, on_dead, sub: bool = False) -> None:
        self.ref = weakref.ref(module, on_dead)
        self.name = type(module).__name__
        self.handle = None
        self.sub = sub
        self.dirty = True
        self.chain: tuple = ()
        self.effective = None
        self.sensitive: tuple = ()  # ((layer, path from effective, excluded), ...)
        self.param_ids: frozenset = frozenset()
        self.module_ids: frozenset = frozenset()
        self.fwd_epoch = -1  # the view below holds for (tracer.mode_epoch, effective.training)
        self.fwd_training = None
        self.fwd_age = 0
        self.fwd_view = None
        self.step_key = None
        self.step_age = 0
        self.step_view = None
        self.forwards = 0
        self.last_forward = None  # location of the last top-level forward from user code
        self.last_forward_seq = 0
        self.capture = None  # handle of a one-shot forward hook (EG002 sampling)

    def refresh(self) -> bool:
        """Rebuild the structure cache; False when the module is gone."""
        root = self.ref()
        if root is None:
            return False
        chain = [root]
        node = root
        # Wrappers (DDP, torch.compile's OptimizedModule, DataParallel, user wrappers): one child
        # and no parameters of their own. Their own `training` flag can be stale (a compiled
        # model's inner module switched directly), so the innermost module is judged.
        while True:
            children = [c for c in node._modules.values() if c is not None]
            if len(children) != 1 or any(p is not None for p in node._parameters.values()):
                break
            node = children[0]
            if any(node is m for m in chain):
                break
            chain.append(node)
        sensitive = []
        module_ids = {id(m) for m in chain}
        stack = [(node, ())]
        if layer_kind(node):
            sensitive.append((node, ()))
        while stack:
            parent, path = stack.pop()
            for child in parent._modules.values():
                if child is None or id(child) in module_ids:
                    continue
                module_ids.add(id(child))
                child_path = path + (child,)
                if layer_kind(child):
                    sensitive.append((child, child_path))
                stack.append((child, child_path))
        self.chain = tuple(chain[1:])  # the root itself is not kept: no reference cycle through its hook
        self.effective = node if node is not root else None
        self.sensitive = tuple(sensitive)
        self.module_ids = frozenset(module_ids)
        self.param_ids = frozenset(id(p) for p in root.parameters())
        self.dirty = False
        self.fwd_epoch = -1
        self.step_key = None
        return True

    def effective_module(self, root):
        return self.effective if self.effective is not None else root

    def chain_modules(self, root) -> tuple:
        return (root, *self.chain)
