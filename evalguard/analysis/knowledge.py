"""What evalguard knows about the PyTorch ecosystem's API, as plain tables.

Names here are fully qualified (`torch.nn.Dropout`), as produced by import resolution.
"""

from __future__ import annotations

import re
import sys
from functools import lru_cache

from evalguard.parsing import ir
from evalguard.parsing.ir import FunctionFacts

# torch.nn classes whose behaviour depends on train/eval.
SENSITIVE_TORCH_NN = frozenset(
    {
        "Dropout",
        "Dropout1d",
        "Dropout2d",
        "Dropout3d",
        "AlphaDropout",
        "FeatureAlphaDropout",
        "BatchNorm1d",
        "BatchNorm2d",
        "BatchNorm3d",
        "LazyBatchNorm1d",
        "LazyBatchNorm2d",
        "LazyBatchNorm3d",
        "SyncBatchNorm",
        "Transformer",
        "TransformerEncoder",
        "TransformerDecoder",
        "TransformerEncoderLayer",
        "TransformerDecoderLayer",
    }
)

# Containers: their sensitivity is their contents'.
TORCH_NN_CONTAINERS = frozenset({"Sequential", "ModuleList", "ModuleDict"})

# Functional calls that make a module mode-dependent.
SENSITIVE_FUNCTIONAL = frozenset(
    {
        "dropout",
        "dropout1d",
        "dropout2d",
        "dropout3d",
        "alpha_dropout",
        "feature_alpha_dropout",
        "batch_norm",
    }
)

# `torch.nn.Module` itself, under both of its import paths.
TORCH_MODULE_CLASSES = frozenset({"torch.nn.Module", "torch.nn.modules.module.Module"})

# Bases that make a class an nn.Module (besides anything under torch.nn with a capitalised name).
MODULE_BASES = (
    "torch.nn.Module",
    "lightning.LightningModule",
    "lightning.pytorch.LightningModule",
    "pytorch_lightning.LightningModule",
    "pytorch_lightning.core.LightningModule",
    "pytorch_lightning.core.lightning.LightningModule",
)

# Bases whose subclasses have their modes managed by a framework (Lightning calls train()/eval()).
MODE_OWNING_BASES = frozenset(
    {
        "lightning.LightningModule",
        "lightning.pytorch.LightningModule",
        "pytorch_lightning.LightningModule",
        "pytorch_lightning.core.LightningModule",
        "pytorch_lightning.core.lightning.LightningModule",
    }
)

# Hugging Face trainers: their training step switches the model to train mode, calls the
# subclass's `compute_loss(model, inputs)` and back-propagates the loss it returns.
HF_TRAINER_BASES = frozenset(
    {
        "transformers.Trainer",
        "transformers.trainer.Trainer",
        "transformers.Seq2SeqTrainer",
        "transformers.trainer_seq2seq.Seq2SeqTrainer",
        "trl.SFTTrainer",
        "trl.RewardTrainer",
    }
)
HF_LOSS_HOOKS = frozenset({"compute_loss"})

# Lightning hook methods: the framework sets the mode before calling them.
FRAMEWORK_STEP_METHODS = frozenset(
    {
        "training_step",
        "validation_step",
        "test_step",
        "predict_step",
        "on_validation_epoch_start",
        "on_validation_epoch_end",
        "on_train_epoch_start",
        "on_train_epoch_end",
        "on_test_epoch_start",
        "on_test_epoch_end",
    }
)

# Classes that are not modules although they have .train()/.eval()-like methods or look like models.
_NON_MODULE_SUFFIXES = ("Trainer", "Engine", "Runner", "Learner", "Estimator", "Evaluator", "Tokenizer", "Processor")

# Constructors returning a module in train mode (PyTorch's default) that loads pretrained weights
# when asked to.
_FACTORY_PREFIXES = ("torchvision.models.", "timm.", "segmentation_models_pytorch.", "torch.hub.")
FACTORY_FUNCTIONS = frozenset(
    {
        "timm.create_model",
        "torchvision.models.get_model",
        "open_clip.create_model",
    }
)

# Calls whose result is a module of unknown mode (a pickled module keeps whatever mode it was saved in).
UNKNOWN_MODE_LOADERS = frozenset(
    {
        "torch.load",
        "torch.jit.load",
        "torch.hub.load",
        "torch.export.load",
        "torch.package.PackageImporter",
        "copy.copy",
    }
)

# Methods returning the receiver itself (so `model = model.to(dev).eval()` keeps identity).
SELF_RETURNING_METHODS = frozenset(
    {
        "to",
        "cuda",
        "cpu",
        "float",
        "half",
        "double",
        "bfloat16",
        "type",
        "train",
        "eval",
        "requires_grad_",
        "share_memory",
        "apply",
        "to_empty",
        "xpu",
        "mps",
    }
)

# Wrappers whose result forwards to (and shares the mode of) their first argument.
MODE_SHARING_WRAPPERS = frozenset(
    {
        "torch.nn.DataParallel",
        "torch.nn.parallel.DataParallel",
        "torch.nn.parallel.DistributedDataParallel",
        "torch.nn.parallel.distributed.DistributedDataParallel",
        "torch.compile",
        "torch.nn.SyncBatchNorm.convert_sync_batchnorm",
        # PEFT adapters wrap the model: the wrapper's forward runs it in its own mode, and the
        # wrapper's train()/eval() recurse into it.
        "peft.get_peft_model",
        "peft.mapping.get_peft_model",
        "peft.mapping_func.get_peft_model",
    }
)

# Constructors that deep-copy the module they are given (a separate module in the mode it had).
COPYING_WRAPPERS = frozenset({"torch.optim.swa_utils.AveragedModel"})

# Training-engine constructors returning a tuple whose first element wraps the model they are
# given (parameter name, position) and shares its mode: `engine, optimizer, loader, scheduler =
# deepspeed.initialize(model=model, ...)`; `engine.train()` / `engine.eval()` switch the model.
MODEL_ENGINE_INITIALIZERS = {
    "deepspeed.initialize": ("model", 1),
}

# Method calls that are evidence a receiver is an nn.Module.
MODULE_EVIDENCE_METHODS = frozenset(
    {
        "eval",
        "parameters",
        "named_parameters",
        "modules",
        "named_modules",
        "children",
        "named_children",
        "buffers",
        "named_buffers",
        "requires_grad_",
        "register_forward_hook",
        "register_forward_pre_hook",
        "load_state_dict",
    }
)

NO_GRAD_CONTEXTS = frozenset(
    {
        "torch.no_grad",
        "torch.inference_mode",
        "torch.autograd.no_grad",
        "torch.autograd.grad_mode.no_grad",
        "torch.autograd.grad_mode.inference_mode",
    }
)

# Result consumers that mean "this output is a prediction".
INFERENCE_OPS = frozenset(
    {
        "argmax",
        "argmin",
        "softmax",
        "log_softmax",
        "topk",
        "sigmoid",
        "argsort",
        "sort",
        "max",
        "predict",
        "accuracy",
        "accuracy_score",
        "f1_score",
        "roc_auc_score",
        "precision_score",
        "recall_score",
        "confusion_matrix",
        "classification_report",
        "eq",
        "round",
    }
)

# The ones that turn outputs into predictions or scores, never part of a loss: a helper applying
# them to a parameter (`accuracy(output, target)`) makes its caller's forward an inference. Not
# softmax/sigmoid/max/sort, which loss helpers apply to the outputs they are handed.
PREDICTION_OPS = INFERENCE_OPS - {"softmax", "log_softmax", "sigmoid", "sort", "max"}

# Attributes of a tensor that only describe its shape (a forward used only for them is a probe).
SHAPE_ATTRS = frozenset({"shape", "size", "dtype", "device", "ndim", "dim", "numel"})

_EVAL_WORDS = ("eval", "valid", "test", "infer", "predict", "inference", "benchmark", "demo", "score")
_MODE_CHANGING_WORDS = ("eval", "valid", "test", "infer", "predict", "freeze", "fit")


def _words(name: str) -> list[str]:
    return [w.lower() for w in re.split(r"[_\W]+|(?<=[a-z0-9])(?=[A-Z])", name) if w]


def name_words(name: str) -> list[str]:
    """The lower-case words of an identifier (`model_ctor`, `ModelBuilder`: model, ctor/builder)."""
    return _words(name)


# Words that name a loss function or object (`criterion`, `loss_fn`, `self.focal_loss`, `DiceLoss`).
_LOSS_WORDS = frozenset({"loss", "losses", "criterion", "criteria", "criterions"})


@lru_cache(maxsize=1 << 12)
def is_loss_name(name: str) -> bool:
    """A reference or class named as a loss: what it computes is the objective, not a model's
    output, and loss objects carry no Dropout or BatchNorm of their own."""
    last = re.sub(r"\[[^\]]*\]", "", name).rpartition(".")[2]  # `self.losses[...]`: "losses"
    return any(word in _LOSS_WORDS for word in _words(last))


@lru_cache(maxsize=1 << 14)
def is_evaluation_name(name: str) -> bool:
    """`evaluate`, `run_validation`, `test_epoch`, `predict`: functions meant for inference."""
    return any(word.startswith(_EVAL_WORDS) for word in _words(name))


def is_test_file(path: str) -> bool:
    """pytest modules: their `test_*` functions are unit tests, not evaluation loops."""
    base = path.replace("\\", "/").rsplit("/", 1)[-1]
    return base.startswith("test_") or base.endswith("_test.py") or base == "conftest.py"


@lru_cache(maxsize=1 << 14)
def may_change_mode(name: str) -> bool:
    """An unresolved call with this name, handed a model, may switch its mode (stay unsure after)."""
    return any(word.startswith(_MODE_CHANGING_WORDS) for word in _words(name))


# Words the mode analysis or a rule reacts to wherever they appear in a function (identifiers
# split at `_` and camelCase, so `no_grad` has "grad"): mode calls and flags, training steps, grad
# modes, dropout, exporters. See `mode_word`.
_MODE_WORDS = frozenset(
    {"eval", "train", "training", "backward", "step", "grad", "dropout", "export", "script", "trace", "onnx"}
)
# Whole names: inference ops on outputs (`out.argmax()`), functional dropouts, framework hooks.
_MODE_NAMES = INFERENCE_OPS | SENSITIVE_FUNCTIONAL | FRAMEWORK_STEP_METHODS | {"scaled_dot_product_attention"}


@lru_cache(maxsize=1 << 16)
def mode_word(name: str) -> bool:
    """An identifier, attribute name or short string a mode-relevant statement must contain. A
    function without any (and without an evaluation-style name or a call that may change a mode)
    cannot report a finding by itself: the prefilter's test (`analysis.relevance`). Wider than
    needed costs time, never results."""
    if name in _MODE_NAMES:
        return True
    return any(word in _MODE_WORDS for word in _words(name))


def torch_nn_class(qualname: str) -> str | None:
    """`Dropout` for `torch.nn.Dropout` / `torch.nn.modules.dropout.Dropout`; None if not torch.nn."""
    if not qualname.startswith("torch.nn."):
        return None
    last = qualname.rsplit(".", 1)[-1]
    if last[:1].isupper() and not qualname.startswith("torch.nn.functional."):
        return last
    return None


_TORCHVISION_MODEL_PACKAGES = frozenset(
    {"", "detection", "segmentation", "video", "quantization", "optical_flow"}
)


def is_factory(qualname: str) -> bool:
    """Model builders: `torchvision.models.resnet50`, `...detection.fasterrcnn_resnet50_fpn`,
    `timm.create_model` — not helpers like `create_feature_extractor` or weight enums."""
    if qualname in FACTORY_FUNCTIONS:
        return True
    if qualname.startswith("torchvision.models."):
        rest = qualname[len("torchvision.models.") :].split(".")
        package, last = ".".join(rest[:-1]), rest[-1]
        if package not in _TORCHVISION_MODEL_PACKAGES:
            return False
        return last[:1].islower() and not last.startswith(("get_", "list_", "_")) or last == "get_model"
    return False


# Packages outside the torch ecosystem: none of their classes is an nn.Module (plotting, arrays,
# data frames, classic ML, images, configuration, logging, progress bars).
NON_TORCH_PACKAGES = frozenset(
    {
        "numpy", "scipy", "pandas", "sklearn", "matplotlib", "seaborn", "plotly", "PIL", "cv2", "skimage",
        "imageio", "h5py", "yaml", "omegaconf", "hydra", "pydantic", "attr", "attrs", "tqdm", "rich", "click",
        "requests", "wandb", "mlflow", "tensorboard", "tensorboardX", "IPython", "networkx", "sympy",
        "numba", "pyarrow", "polars", "jinja2", "packaging", "filelock", "psutil",
    }
)


def is_non_module_class_name(qualname: str) -> bool:
    return qualname.rsplit(".", 1)[-1].endswith(_NON_MODULE_SUFFIXES)


# `torch.dropout(input, p, train)` and its siblings: the flag is the third argument, `train`, with
# no default.
ATEN_DROPOUTS = frozenset({"torch.dropout", "torch.alpha_dropout", "torch.feature_dropout", "torch.feature_alpha_dropout"})


def is_functional_dropout(qualname: str) -> bool:
    if qualname.startswith("torch.nn.functional."):
        return qualname.rsplit(".", 1)[-1] in SENSITIVE_FUNCTIONAL
    return qualname in ATEN_DROPOUTS


def is_optimizer_class(qualname: str) -> bool:
    return qualname.startswith("torch.optim.") and qualname.rsplit(".", 1)[-1][:1].isupper() and (
        ".lr_scheduler" not in qualname
    )


OPTIMIZER_NAME = re.compile(r"(^|_)(opt|optim|optimizer|optimiser|optimizers|optimizer_[a-z0-9]+)(_|$)|optim", re.I)
SCALER_NAME = re.compile(r"scaler", re.I)

# nn.Module's own API: `model.<name>(...)` with these names is never a submodule call.
MODULE_API_METHODS = frozenset(
    {
        "to", "cuda", "cpu", "xpu", "mps", "float", "half", "double", "bfloat16", "type", "to_empty",
        "train", "eval", "parameters", "named_parameters", "buffers", "named_buffers", "children",
        "named_children", "modules", "named_modules", "state_dict", "load_state_dict", "zero_grad",
        "apply", "requires_grad_", "register_buffer", "register_parameter", "register_module",
        "add_module", "get_submodule", "get_parameter", "get_buffer", "register_forward_hook",
        "register_forward_pre_hook", "register_full_backward_hook", "register_backward_hook",
        "share_memory", "extra_repr", "forward", "compile", "__init__", "__call__",
    }
)

DROPOUT_CLASSES = frozenset({"Dropout", "Dropout1d", "Dropout2d", "Dropout3d", "AlphaDropout", "FeatureAlphaDropout"})

# Functional dropouts whose `training` argument defaults to True (alpha variants default to False).
DROPOUT_DEFAULT_TRAINING = frozenset({"dropout", "dropout1d", "dropout2d", "dropout3d"})
# ... and those whose `training` defaults to False: without it they never drop, in training either.
DROPOUT_DEFAULT_OFF = frozenset({"alpha_dropout", "feature_alpha_dropout"})

# Calls that freeze a model's current behaviour into an artefact.
EXPORTERS = frozenset(
    {
        "torch.onnx.export",
        "torch.onnx.dynamo_export",
        "torch.export.export",
        "torch.export.export_for_training",
    }
)
# Their result is the artefact: reported when it is saved or returned.
SAVED_EXPORTERS = frozenset({"torch.jit.script", "torch.jit.trace", "torch.jit.trace_module"})

# Names that say "this is a model" (for receivers whose type the analysis cannot see).
# The last word of a function that returns a model (`build_model`, `get_network`,
# `build_wideresnet`, `resnet50`, `create_unet`).
_MODEL_BUILDER_WORD = re.compile(r"(model|network|backbone|encoder|decoder|classifier|generator|discriminator)|.*net\d*")


@lru_cache(maxsize=1 << 12)
def builds_model_by_name(qualname: str) -> bool:
    """An external function (outside the checked tree, not a known non-torch package) whose name
    says it returns a model."""
    head = qualname.partition(".")[0]
    if head == "torch" or head in NON_TORCH_PACKAGES or head in sys.stdlib_module_names:
        return False
    words = _words(qualname.rpartition(".")[2])
    return bool(words) and _MODEL_BUILDER_WORD.fullmatch(words[-1]) is not None


MODEL_NAME = re.compile(
    r"(^|[._])(model|net|network|module|encoder|decoder|backbone|head|classifier|generator|discriminator|"
    r"teacher|student|policy|critic|actor)s?$|(model|net)$",
    re.I,
)


def mc_dropout_intent(fn: FunctionFacts) -> bool:
    """Dropout that stays on at inference on purpose (Monte-Carlo dropout), said by the names of a
    function and its class (`MCDropout.predict`, `mc_samples`, `MCD.run`)."""
    qualified = f"{fn.class_qualname or ''}.{fn.name}"
    names = qualified.lower()
    return any(word in names for word in ("mcdropout", "mc_dropout", "montecarlo", "monte_carlo", "mcd")) or (
        "mc" in re.split(r"[._]|(?<=[a-z])(?=[A-Z])", names)
    )


# Decorators that register a web request handler on an app or router (FastAPI, Flask, Starlette,
# Sanic, Litestar spellings): `@app.post("/predict")`, `@router.get(...)`, `@bp.route(...)`.
ROUTE_DECORATORS = frozenset({"get", "post", "put", "patch", "delete", "route", "api_route", "websocket"})


# TorchServe's handler base classes live here (`BaseHandler`, `ImageClassifier`, ...): the server
# builds a subclass, calls its `initialize(context)` and then `handle(data, context)` per request.
SERVING_HANDLER_PACKAGE = "ts.torch_handler."


def is_route_decorator(dec: object) -> bool:
    return (
        type(dec) is ir.Call
        and type(dec.func) is ir.Attr
        and dec.func.attr in ROUTE_DECORATORS
        and type(dec.func.value) is ir.Name
        and bool(dec.args or dec.kwargs)
    )
