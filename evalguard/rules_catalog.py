"""Rule codes and names (stable: users write them in noqa comments and configs)."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class RuleInfo:
    code: str
    name: str
    summary: str


_CATALOG = (
    RuleInfo("EG000", "parse-error", "the file could not be parsed; reported, the run goes on"),
    RuleInfo("EG001", "train-step-in-eval-mode", "a training step can run while the model is in eval mode"),
    RuleInfo(
        "EG002",
        "inference-in-train-mode",
        "an inference/evaluation forward runs while the model is (or may be) in train mode",
    ),
    RuleInfo(
        "EG003",
        "no-grad-without-eval",
        "a forward under no_grad/inference_mode with the model in train mode",
    ),
    RuleInfo(
        "EG004",
        "functional-dropout-ignores-mode",
        "F.dropout* in a module without training=self.training (or hard-coded True)",
    ),
    RuleInfo("EG005", "mode-method-not-called", "model.eval / model.train referenced but not called"),
    RuleInfo("EG006", "training-flag-assignment", "x.training = ... sets one module, not its children"),
    RuleInfo("EG007", "bad-mode-argument", "train(x) with a non-bool literal"),
    RuleInfo("EG008", "export-in-train-mode", "export/trace/script of a model in train mode"),
    RuleInfo("EG009", "train-undoes-frozen-eval", "model.train() re-enables submodules frozen with .eval()"),
)

RULES: dict[str, RuleInfo] = {rule.code: rule for rule in _CATALOG}

# Codes whose findings `--fix` can repair (some findings of a fixable rule may still have no fix).
FIXABLE = frozenset({"EG001", "EG002", "EG003", "EG004", "EG005", "EG007", "EG008"})


def rule_page(code: str) -> str | None:
    """The Markdown page of a rule: shipped in the wheel as `evalguard.rules_pages`, or read from
    the repository's rules/ folder in a source checkout."""
    name = f"{code}.md"
    try:
        from importlib.resources import files

        resource = files("evalguard.rules_pages") / name
        if resource.is_file():
            return resource.read_text(encoding="utf-8")
    except (ModuleNotFoundError, FileNotFoundError, OSError):
        pass
    from pathlib import Path

    local = Path(__file__).resolve().parent.parent / "rules" / name
    try:
        return local.read_text(encoding="utf-8")
    except OSError:
        return None
