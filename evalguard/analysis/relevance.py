"""The prefilter: which functions a whole-project run must analyse.

A function can report a finding only through a name the analysis reacts to (`knowledge.mode_word`:
`eval`, `train`, `training`, `backward`, `step`, `no_grad`, `argmax`, functional dropout, an
exporter, ...), an evaluation-style name of its own, or a call that may change a mode (`fit`,
`freeze`). A function with none of these is plain: it only moves objects around, and matters
only to the analyses it feeds. So a run analyses the relevant functions, every function that may
call one of them (transitively: requirements travel up to callers, and callers decide what a
parameter holds), and, on demand, the plain functions those analyses call. The rest cannot
change a finding and are skipped.

The per-function test reads facts computed while lowering (`FunctionFacts.mode_words`), so it
costs nothing here beyond the called names.
"""

from __future__ import annotations

from evalguard.analysis import knowledge as K
from evalguard.parsing import ir


def relevant_aliases(imports: tuple[ir.ImportBinding, ...]) -> frozenset[str]:
    """Local names bound to something relevant (`from torch.nn.functional import dropout as drop`)."""
    return frozenset(b.local for b in imports if _relevant_call(b.module if b.name is None else b.name))


def _relevant_call(dotted: str) -> bool:
    return K.mode_word(dotted) or K.may_change_mode(dotted.rpartition(".")[2])


def is_relevant(fn: ir.FunctionFacts, aliases: frozenset[str]) -> bool:
    """May this function's own statements report a finding or change what another function
    finds? `aliases`: its module's relevant import names."""
    if fn.mode_words or K.is_evaluation_name(fn.name):
        return True
    # It calls a module-only method on something (`m.parameters()`): that makes a constructed
    # object of an unknown class a module for every function that sees it.
    if fn.evidence_names:
        return True
    local = relevant_aliases(fn.imports) if fn.imports else frozenset()
    for called in fn.called_names:
        head = called.partition(".")[0]
        if head in aliases or head in local or _relevant_call(called):
            return True
    return False
