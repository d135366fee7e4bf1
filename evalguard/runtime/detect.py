"""The runtime checks. Each reads `training` flags, grad mode and the tracer's records: Python
attributes only, never a tensor value, so nothing here waits for a GPU.

EG001 train-step-in-eval-mode (at `optimizer.step()`): a model owning stepped parameters is in
    eval mode (its own flag, below any wrappers) with mode-sensitive layers in eval, the latest
    root-level switch being `eval()`/`train(False)` on the model or a wrapper (or none seen: eval
    since before tracing). Layers frozen on purpose (a later direct `eval()` on a part, a later
    direct `train()` on another part, a class whose `train()` keeps them frozen, flags restored
    by Lightning or `evalguard.eval_mode`) do not count.
EG003 no-grad-without-eval (at the forward call): a top-level forward under `no_grad` /
    `inference_mode` with active mode-sensitive layers. Quiet for BatchNorm recalibration
    (`momentum=None`, `swa_utils.update_bn`), for MC-dropout sampling (a dropout-only model
    forwarded again on the same input tensor: decided at the next forward from that line or at
    exit), and for forwards that torch or another library makes itself.
EG002 inference-in-train-mode (at the forward call, decided at exit): a top-level forward in
    train mode with grad enabled and active mode-sensitive layers, from a source line none of
    whose forwards ever fed a backward pass. The first 8 forwards of each line, then every 256th,
    are sampled: a one-shot forward hook puts an autograd pre-hook on the output's `grad_fn`,
    which fires when a backward reaches it. An output with no graph at all counts as never
    backpropagated. Gradient accumulation (several forwards, one step), several forwards into one
    loss (siamese, GAN) and REINFORCE-style episodes are all backpropagated and stay quiet; a
    training line whose first forwards were all backpropagated never is reported. After an
    exception or interrupt, a line needs two unconsumed samples (the last forward before the
    interruption had no chance to reach its backward).
EG006 training-flag-assignment (at the forward call): the root reports eval (`training` False)
    while every direct child still trains and mode-sensitive layers are active: the signature of
    `model.training = False`, which sets one flag. Layers switched back on by a direct `train()`
    after the root-level switch (MC dropout) do not count.
EG009 train-undoes-frozen-eval (at the ancestor's `train()` call, reported when an optimizer step
    runs with the part still training): a module the user switched to eval directly, then an
    ancestor's `train()` switched it back. Quiet when the part is re-frozen before the step, when
    the class's `train()` keeps it frozen, and when the step trains the part's own parameters
    (the eval was not a freeze) unless the part is a norm layer (the BatchNorm-freeze loop).
"""

from __future__ import annotations

from dataclasses import dataclass, field

from evalguard.runtime.frames import display_path
from evalguard.runtime.sensitivity import DROPOUT, NORM, layer_kind, recalibrating
from evalguard.runtime.state import REFRESH_EVERY

SAMPLE_FIRST = 8
SAMPLE_EVERY = 256


def latest(records, modules):
    best = None
    for m in modules:
        rec = records.get(m)
        if rec is not None and (best is None or rec.seq > best.seq):
            best = rec
    return best


def class_name(module) -> str:
    """The user's class name. FSDP2 (`fully_shard`) and `replicate` swap a module's class for a
    generated `type(prefix + name, (Mixin, cls), ...)` (`FSDPLinear`); report the class written."""
    cls = type(module)
    name = cls.__name__
    if len(cls.__bases__) == 2:
        base = cls.__bases__[1].__name__
        if name in (f"FSDP{base}", f"DDP{base}"):
            return base
    return name


def where(location) -> str:
    return f"{display_path(location[0])}:{location[1]}" if location else "an unknown line"


def describe_layers(modules) -> str:
    names: dict[str, int] = {}
    for m in modules:
        names[class_name(m)] = names.get(class_name(m), 0) + 1
    parts = [f"{n} {cls}" if n > 1 else cls for cls, n in sorted(names.items(), key=lambda kv: -kv[1])]
    return ", ".join(parts[:3]) + (", ..." if len(parts) > 3 else "")


# ------------------------------------------------------------------------------------ forwards


@dataclass
class ForwardView:
    """What a root's forward looks like in its current modes (cached, see state.py)."""

    training: bool
    active: list  # sensitive layers in train mode
    dropout_only: bool
    recalibration: bool
    mixed: list | None = None  # EG006 culprits


def forward_view(tracer, st, root) -> ForwardView:
    """Recompute a root's forward view (the hook checks the cache key inline)."""
    eff = st.effective_module(root)
    key = (tracer.mode_epoch, eff.training)
    active = [m for m, _path in st.sensitive if m.training]
    view = ForwardView(
        eff.training,
        active,
        bool(active) and all(layer_kind(m) == DROPOUT for m in active),
        bool(active) and all(recalibrating(m) for m in active),
    )
    if not eff.training and active:
        view.mixed = _mixed_mode(tracer, st, root, eff)
    st.fwd_epoch, st.fwd_training, st.fwd_age, st.fwd_view = key[0], key[1], 0, view
    return view


def _mixed_mode(tracer, st, root, eff) -> list | None:
    children = [c for c in eff._modules.values() if c is not None]
    if not children or not all(c.training for c in children):
        return None
    records = tracer.records
    chain_rec = latest(records, st.chain_modules(root))
    culprits = []
    for m, path in st.sensitive:
        if not m.training:
            continue
        part = latest(records, path)
        if part is not None and part.training and (chain_rec is None or part.seq > chain_rec.seq):
            continue  # switched back on directly, after the root-level switch: on purpose
        culprits.append(m)
    return culprits or None


@dataclass
class LineStats:
    """EG002 / EG003 evidence for one forward call line."""

    classes: set = field(default_factory=set)
    train_forwards: int = 0  # train mode, grad enabled, active layers
    sampled: int = 0
    consumed: int = 0
    nested: bool | None = None
    # EG003 MC-dropout deferral: the last input and how many forwards wait for a decision
    last_input: object = None
    pending: int = 0
    deferred: tuple | None = None  # (message, related) of the first pending forward
    decided: bool = False  # not MC dropout: report at once
    mc: bool = False
    related: list = field(default_factory=list)


def message_eg002(classes) -> str:
    cls = "/".join(sorted(classes))
    return (
        f"forward of {cls} in train mode whose output never reaches a backward pass: inference "
        "in train mode (Dropout drops activations, BatchNorm uses and updates batch statistics); "
        "call model.eval() before evaluating"
    )


def message_eg003(cls: str, view: ForwardView, inference_mode: bool) -> str:
    ctx = "torch.inference_mode()" if inference_mode else "torch.no_grad()"
    return (
        f"forward of {cls} under {ctx} while it is in train mode: {describe_layers(view.active)} "
        f"still behave{'s' if len(view.active) == 1 else ''} as in training ({ctx} only disables "
        "autograd); call model.eval()"
    )


def message_eg006(cls: str, culprits) -> str:
    return (
        f"forward of {cls} whose own flag says eval (training == False) while its children "
        f"still train: {describe_layers(culprits)} active; assigning `.training` sets one module "
        "only, call .eval() / .train(False)"
    )


# ------------------------------------------------------------------------------------ steps


@dataclass
class StepView:
    chain_rec: object  # the root-level eval() record, or None when the switch was not seen
    culprits: list


def step_view(tracer, st, root) -> StepView | None:
    eff = st.effective_module(root)
    key = (tracer.mode_epoch, eff.training)
    st.step_age += 1
    if st.step_key == key and st.step_age < REFRESH_EVERY:
        return st.step_view
    view = _eval_step(tracer, st, root, eff)
    st.step_key, st.step_age, st.step_view = key, 0, view
    return view


def _eval_step(tracer, st, root, eff) -> StepView | None:
    if eff.training:
        # The model itself says train: parts in eval are frozen on purpose, or were put back by
        # flag (Lightning and `evalguard.eval_mode` restore each submodule's own flag).
        return None
    in_eval = [(m, path) for m, path in st.sensitive if not m.training]
    if not in_eval:
        return None
    records = tracer.records
    chain_rec = latest(records, st.chain_modules(root))
    if chain_rec is not None and chain_rec.training:
        return None  # the latest root-level switch was train(): its flag was assigned since (EG006)
    after = chain_rec.seq if chain_rec is not None else -1
    # A direct train() on a part after the root-level eval(): parts managed on purpose
    # (`model.eval(); model.head.train()` fine-tunes the head over a frozen body).
    for module, rec in tracer.records_snapshot():
        if rec.training and rec.seq > after and id(module) in st.module_ids:
            return None
    culprits = []
    for m, path in in_eval:
        part = latest(records, path)
        if part is not None and not part.training and part.seq > after:
            continue  # frozen directly after the root-level switch
        culprits.append(m)
    return StepView(chain_rec, culprits) if culprits else None


def message_eg001(cls: str, view: StepView) -> str:
    switched = (
        f"switched to eval at {where(view.chain_rec.location)}"
        if view.chain_rec is not None
        else "in eval mode since before tracing started or through `training` flags"
    )
    n = len(view.culprits)
    return (
        f"optimizer step while {cls} is in eval mode ({switched}): {describe_layers(view.culprits)} "
        f"behave{'s' if n == 1 else ''} as at inference, so this step trains a different network; "
        "call model.train() before the training forward"
    )


def eg009_hits(tracer, st, stepped_ids) -> list:
    """Undo records of parts inside this root that still train now and matter for this step."""
    hits = []
    for part, undo in tracer.undo_snapshot():
        if not undo.sensitive or id(part) not in st.module_ids or not part.training:
            continue
        if layer_kind(part) != NORM and any(p.requires_grad and id(p) in stepped_ids for p in part.parameters()):
            continue  # the step trains this part: its eval() was an evaluation, not a freeze
        hits.append(undo)
    return hits


def message_eg009(undos) -> str:
    first = undos[0]
    n = len(undos)
    what = f"{n} submodules frozen with .eval() (e.g. {first.part})" if n > 1 else f"{first.part} frozen with .eval()"
    return (
        f"{first.ancestor}.train() switched {what} at {where(first.frozen_at)} back to train mode, "
        "and an optimizer step ran before it was frozen again; re-apply the freeze after train() "
        "or override train() to keep it"
    )
