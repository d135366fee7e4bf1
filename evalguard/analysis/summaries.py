"""Plain data the analysis produces: object facts, forward observations, function summaries."""

from __future__ import annotations

from dataclasses import dataclass, field

from evalguard.analysis.modes import ModeVal
from evalguard.parsing.ir import Loc
from evalguard.record import compact_pickle, record


@compact_pickle
@record
class ObjInfo:
    """What is known about an allocated object (a constructor or factory call site)."""

    label: str
    is_module: bool | None
    sensitive: bool
    weights: bool = False
    optimizer: bool = False
    # Built by an unknown class from a model (a wrapper): its mode is unknown, never the default.
    wrapper: bool = False


@compact_pickle
@dataclass(slots=True)
class Forward:
    """A forward call of a model (or a callee's forward, seen through a call) and how it is used.

    `mode` is the model's abstract mode at the call, joined over loop iterations. The flags say
    what the call is: a training step (`trained`), inference (`inference_hint`), under no_grad.
    """

    fid: str
    path: str
    loc: Loc
    function: str
    label: str
    objs: frozenset[str]
    mode: ModeVal
    no_grad: bool
    in_init: bool
    inference_hint: bool = False
    trained: bool = False
    value_used: bool = False
    shape_used: bool = False
    returned: bool = False
    loop: int | None = None
    # Call chain from the analysed function to the forward: (callee, path, line), outermost first.
    via: tuple[tuple[str, str, int], ...] = ()
    # Objects whose parameters an optimizer in reach updates.
    optimized: bool = False
    # Weights were loaded (load_state_dict, pretrained factory) or learned.
    loaded: bool = False
    # The function where this observation was made runs a training step somewhere.
    function_has_step: bool = False
    # The model ran a training step since its last explicit train() (so that train() was for
    # training, not for this forward).
    stepped: bool = False
    # Not a visible forward call: a model handed to an unknown function (`compute_loss(model, b)`).
    synthetic: bool = False
    # The objects called that may be in train / eval mode here (sensitivity is judged on these).
    train_objs: frozenset[str] = frozenset()
    eval_objs: frozenset[str] = frozenset()
    # Key of the function whose analysis made this observation.
    fkey: str = ""
    # Fix anchors (lines): top of the innermost loop body, where to put an eval() before, the
    # statement itself. 0 when unknown.
    anchors: tuple[int, int, int] = (0, 0, 0)
    # Its output reaches a backward() although it ran under no_grad: it feeds another model's
    # training step (a GAN's generated batch for the discriminator, a teacher's targets).
    feeds_training: bool = False
    # Objects whose mode here depends on a flag (`if not is_training: model.eval()` above):
    # (flag text, object, its mode when the flag is true, when it is false).
    flags: tuple[tuple[str, str, ModeVal, ModeVal], ...] = ()
    # The eval() it may see is made later in the loop around it (`validate(model)` after the
    # step): carried to the next iteration, not a frozen model's.
    carried_eval: bool = False
    # A callee uses its output as a prediction (`accuracy(output, target)`): inference unless it
    # is a training step.
    callee_inference: bool = False
    # The `self.<flag>` tests it runs under, (flag, branch): `if self.normalize: self.norm(x)`.
    guards: tuple[tuple[str, bool], ...] = ()
    # Where each object's train mode came from, when several objects are called and their
    # origins differ (`features` is a project module or a wrapper): the message names the one
    # that makes the finding (a mode-sensitive object), not merely the earliest.
    train_origins: tuple[tuple[str, Origin], ...] = ()


@compact_pickle
@record
class Requirement:
    """A forward on an entry reference (parameter, self attribute, global) whose mode the caller decides."""

    path: str
    fid: str
    file: str
    loc: Loc
    function: str
    label: str
    no_grad: bool
    in_init: bool
    inference_hint: bool
    trained: bool
    value_used: bool
    shape_used: bool
    returned: bool
    via: tuple[tuple[str, str, int], ...]
    # "forward", or "export" (an export of the entry reference; `detail` names the exporter).
    kind: str = "forward"
    detail: str = ""
    anchors: tuple[int, int, int] = (0, 0, 0)
    feeds_training: bool = False
    # The forward's mode depends on a flag parameter (`if not is_training: model.eval()`):
    # (parameter, the model's mode when the argument is true, when it is false). A caller passing a
    # literal, or relying on a literal default, under which the function switches the model
    # itself is not asked for a mode.
    flags: tuple[tuple[str, ModeVal, ModeVal], ...] = ()
    # The `self.<flag>` tests the forward runs under (flag, branch): the caller picks the mode
    # its own test or call of that flag left for that branch, if any.
    guards: tuple[tuple[str, bool], ...] = ()
    # A callee of the function uses the output as a prediction (see `Forward.callee_inference`):
    # inference where the caller does not train it.
    callee_inference: bool = False


@compact_pickle
@record
class Summary:
    # entry path -> mode at exit (ENTRY tokens: unchanged on some path)
    effects: tuple[tuple[str, ModeVal], ...] = ()
    # A `@contextmanager` function's effects where it yields: what a `with` block runs under (the
    # whole body's `effects` apply when the block ends). None for other functions.
    enter_effects: tuple[tuple[str, ModeVal], ...] | None = None
    enter_flag_effects: tuple[tuple[str, str, ModeVal, ModeVal], ...] = ()
    # Effects that depend on a flag parameter (`if eval_mode: self.eval()`): (parameter, entry
    # path or fresh object, mode at exit when the argument is true, when it is false). A caller passing a literal,
    # or relying on a literal default, gets the one that applies instead of the joined effect.
    flag_effects: tuple[tuple[str, str, ModeVal, ModeVal], ...] = ()
    # (holder entry path, or a returned model built here "N:...", attribute, value object ids as
    # entry paths "E:..." or allocations "N:...")
    fields: tuple[tuple[str, str, tuple[str, ...]], ...] = ()
    # Objects (entry "E:<path>" or allocations "N:...") whose weights were loaded / are optimized.
    loaded: frozenset[str] = frozenset()
    optimized: frozenset[str] = frozenset()
    requirements: tuple[Requirement, ...] = ()
    returns: tuple[str, ...] = ()
    fresh_modes: tuple[tuple[str, ModeVal], ...] = ()
    has_step: bool = False
    # Updates weights: an optimizer step, a framework-managed step (not only a backward()).
    has_update: bool = False
    # Reads some tensor's `.grad`, here or in a callee.
    reads_grad: bool = False
    # Parameters whose value reaches a `.backward()` inside (index in the parameter list).
    backward_params: frozenset[int] = frozenset()
    # Parameters whose values it uses as predictions (`output.argmax(1)`): positions.
    inference_params: frozenset[int] = frozenset()
    returns_forward_of: frozenset[str] = frozenset()
    # Per position, when every return is a tuple of the same length (`return model, device`).
    returns_elts: tuple[tuple[str, ...], ...] | None = None
    # Module-level variables this function rebinds (`global model; model = Net()`): key -> objects.
    globals_out: tuple[tuple[str, tuple[str, ...]], ...] = ()
    # A method of an nn.Module subclass that runs its own submodules: calling it is a forward.
    forwards_self: bool = False
    # `model.train()` on an entry reference followed by a training step, nothing frozen again in
    # between: (entry path, where train() is, its label, its file, the calls it came through). A
    # caller that froze part of that model sees its freeze undone (EG009).
    unfreezes: tuple[tuple[str, Loc, str, str, tuple[tuple[str, str, int], ...]], ...] = ()
    # Parameters called with functions that pull the mode opposite ways from one caller to the
    # next (`apply_to_all(models, fn)` given `lambda m: m.train()` here, `lambda m: m.eval()`
    # there): (parameter, entry path of each positional argument or "" when unknown). Each caller
    # runs its own function on its own objects (see `FunctionAnalysis._apply_calls_of_passed`).
    calls_passed: tuple[tuple[str, tuple[str, ...]], ...] = ()
    # Mode snapshots it leaves in fields of entry objects (`self.was = self.model.training`, a
    # bound restorer): (holder path, attribute, the objects saved as "E:<path>" or "N:...", their
    # mode then, a restorer?).
    snapshots: tuple[tuple[str, str, tuple[str, ...], ModeVal, bool], ...] = ()
    # Restores from a snapshot its caller may have kept: (path, field) for `path.train(field)`,
    # ("", field) for a call of a bound restorer held in the field.
    restores: tuple[tuple[str, str], ...] = ()


EMPTY_SUMMARY = Summary()


@compact_pickle
@dataclass(slots=True)
class Event:
    """A mode-related statement a rule may report, seen during the flow (so receivers are typed).

    kind: "functional-dropout", "module-dropout-in-forward", "sdpa-dropout", "bare-mode-attr",
    "training-assign", "bad-mode-arg", "export". `mode`/`objs` are set for exports.
    """

    kind: str
    path: str
    loc: Loc
    label: str
    detail: str = ""
    mode: ModeVal | None = None
    objs: frozenset[str] = frozenset()
    loaded: bool = False
    # The objects that may be in train mode there (EG008 judges their sensitivity).
    train_objs: frozenset[str] = frozenset()
    # Line of the statement the event is in (where a fix inserts before).
    stmt_line: int = 0


@compact_pickle
@dataclass(slots=True)
class FunctionResult:
    summary: Summary
    forwards: list[Forward] = field(default_factory=list)
    events: list[Event] = field(default_factory=list)
