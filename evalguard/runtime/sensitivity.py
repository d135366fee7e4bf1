"""Which layers behave differently in train and eval mode.

Only torch's own classes are recognised: reading every user class's `forward` for `self.training`
would also catch flags that change nothing a caller sees (gradient checkpointing, logging).
A model without any of these layers computes the same function in both modes, so the mode checks
stay quiet for it.
"""

from __future__ import annotations

from torch import nn
from torch.nn.modules.batchnorm import _BatchNorm
from torch.nn.modules.dropout import _DropoutNd
from torch.nn.modules.instancenorm import _InstanceNorm

DROPOUT, NORM = "dropout", "norm"


def layer_kind(module: nn.Module) -> str | None:
    """DROPOUT for layers that are random in train mode only, NORM for layers that normalise
    with batch statistics (and update running ones) in train mode only, else None."""
    if isinstance(module, _DropoutNd):
        return DROPOUT if module.p > 0 else None
    if isinstance(module, (_BatchNorm, _InstanceNorm)):
        # Without running statistics both modes use the batch's own: nothing differs.
        return NORM if module.track_running_stats else None
    if isinstance(module, nn.RNNBase):
        return DROPOUT if module.dropout > 0 and module.num_layers > 1 else None
    if isinstance(module, nn.MultiheadAttention):
        return DROPOUT if module.dropout > 0 else None
    return None


def recalibrating(module: nn.Module) -> bool:
    """A norm layer with `momentum=None` keeps a cumulative average: the idiom for re-estimating
    BatchNorm statistics after weight averaging (`torch.optim.swa_utils.update_bn` sets it),
    which runs in train mode under no_grad on purpose."""
    return isinstance(module, (_BatchNorm, _InstanceNorm)) and module.momentum is None
