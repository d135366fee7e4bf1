"""The rules that read forward observations, in code order. Adding a rule: one line here."""

from __future__ import annotations

from evalguard.checks import (
    eg001_train_step_in_eval_mode,
    eg002_inference_in_train_mode,
    eg003_no_grad_without_eval,
)

FORWARD_RULES = (
    eg001_train_step_in_eval_mode,
    eg002_inference_in_train_mode,
    eg003_no_grad_without_eval,
)
