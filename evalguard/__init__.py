"""evalguard: find PyTorch train/eval mode misuse.

The static checker lives in the pipeline packages (discovery -> parsing -> analysis ->
checks -> report); importing this package never imports torch.
"""

__version__ = "0.1.0"

__all__ = ["__version__"]
