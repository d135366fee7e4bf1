"""evalguard: find PyTorch train/eval mode misuse.

The static checker lives in the pipeline packages (discovery -> parsing -> analysis ->
checks -> report); importing this package never imports torch. The runtime names below
(`evalguard.trace`, `evalguard.expect_eval`, ...) import torch on first use only.
"""

from __future__ import annotations

import importlib

__version__ = "0.1.0"

# Runtime names, resolved on first access so `import evalguard` stays torch-free.
_RUNTIME_NAMES = {
    "trace": "evalguard.runtime.tracer",
    "Tracer": "evalguard.runtime.tracer",
    "expect_eval": "evalguard.runtime.asserts",
    "expect_train": "evalguard.runtime.asserts",
    "expect_mode": "evalguard.runtime.asserts",
    "eval_mode": "evalguard.runtime.asserts",
    "train_mode": "evalguard.runtime.asserts",
    "ModeAssertionError": "evalguard.runtime.asserts",
}

__all__ = ["__version__", *_RUNTIME_NAMES]


def __getattr__(name: str):
    module = _RUNTIME_NAMES.get(name)
    if module is None:
        raise AttributeError(f"module 'evalguard' has no attribute {name!r}")
    value = getattr(importlib.import_module(module), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(_RUNTIME_NAMES))
