"""The rules, in code order. Adding a rule: its file, its page in rules/, fixtures, one line here."""

from __future__ import annotations

from evalguard.checks import (
    eg001_train_step_in_eval_mode,
    eg002_inference_in_train_mode,
    eg003_no_grad_without_eval,
    eg004_functional_dropout_ignores_mode,
    eg005_mode_method_not_called,
    eg006_training_flag_assignment,
    eg007_bad_mode_argument,
    eg008_export_in_train_mode,
    eg009_train_undoes_frozen_eval,
)

# Rules reading forward observations (model calls with their mode and use).
FORWARD_RULES = (
    eg001_train_step_in_eval_mode,
    eg002_inference_in_train_mode,
    eg003_no_grad_without_eval,
)

# Rules reading statement events seen during the flow.
EVENT_RULES = (
    eg004_functional_dropout_ignores_mode,
    eg005_mode_method_not_called,
    eg006_training_flag_assignment,
    eg007_bad_mode_argument,
    eg008_export_in_train_mode,
    eg009_train_undoes_frozen_eval,
)
