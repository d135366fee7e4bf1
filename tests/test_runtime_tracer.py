"""The runtime tracer: what it reports, where, and what it keeps quiet about."""

from __future__ import annotations

import copy
import io
import os
import pickle
import sys

import pytest
from runtime_support import RUNTIME_FIXTURES, found, read_trace, runtime_markers, single_thread

torch = pytest.importorskip("torch")
nn = torch.nn
F = torch.nn.functional

import evalguard  # noqa: E402
from evalguard.runtime.runner import run_target  # noqa: E402
from evalguard.runtime.tracer import RootHook, Tracer  # noqa: E402

HERE = os.path.realpath(__file__)
one_thread = pytest.fixture(autouse=True)(single_thread)
FIXTURE_SCRIPTS = sorted(p for p in RUNTIME_FIXTURES.glob("*.py") if not p.name.startswith("ddp_"))


def line_of(text: str) -> int:
    """The line in this file holding `text` (for asserting exact locations)."""
    with open(HERE, encoding="utf-8") as handle:
        lines = [n for n, line in enumerate(handle, 1) if text in line and "line_of(" not in line]
    assert len(lines) == 1, (text, lines)
    return lines[0]


def codes(tracer) -> set[tuple[str, int]]:
    return {(f.code, f.location[1]) for f in tracer.findings}


class Net(nn.Module):
    def __init__(self):
        super().__init__()
        self.fc1 = nn.Linear(6, 16)
        self.bn = nn.BatchNorm1d(16)
        self.drop = nn.Dropout(0.2)
        self.fc2 = nn.Linear(16, 3)

    def forward(self, x):
        return self.fc2(self.drop(F.relu(self.bn(self.fc1(x)))))


def batch(n=8):
    return torch.randn(n, 6), torch.randint(0, 3, (n,))


def train_step(model, opt, x, y):
    loss = F.cross_entropy(model(x), y)
    opt.zero_grad()
    loss.backward()
    opt.step()  # the step line of train_step


# ------------------------------------------------------------------------------------ fixtures


@pytest.mark.parametrize("script", FIXTURE_SCRIPTS, ids=lambda p: p.name)
def test_fixture_scripts_report_exactly_their_markers(script, tmp_path, capsys):
    trace = tmp_path / "trace.jsonl"
    assert run_target(str(script), [], module=False, trace_path=str(trace), summary=False) == 0
    records = read_trace(trace)
    expected, roles = runtime_markers(script)
    assert found(records) == expected
    if script.name.endswith("_ok.py"):
        assert not expected
    else:
        assert expected, "a bug fixture marks its finding"
    related = {r["role"]: r["line"] for rec in records if rec["type"] == "finding" for r in rec["related"]}
    for role, line in roles.items():
        assert related.get(role) == line, (role, related)
    for rec in records:
        if rec["type"] == "finding":
            assert rec["path"] == os.path.realpath(script)


def test_headline_bug_points_at_the_step_and_the_eval_switch(tmp_path):
    script = RUNTIME_FIXTURES / "eg001_test_every_n_batches_bug.py"
    trace = tmp_path / "t.jsonl"
    run_target(str(script), ["12", "4"], module=False, trace_path=str(trace), summary=False)
    records = read_trace(trace)
    finding = [r for r in records if r["type"] == "finding"][-1]
    text = script.read_text().splitlines()
    assert text[finding["line"] - 1].strip().startswith("optimizer.step()")
    roles = {r["role"]: text[r["line"] - 1].strip() for r in finding["related"]}
    assert roles["switched_to_eval"].startswith("model.eval()")
    assert roles["forward"].startswith("output = model(")
    assert "ConvNet" in finding["message"] and "eval_every_n" not in finding["message"]
    # 12 batches, evaluation after batches 0, 4, 8: batches 1..11 train in eval mode
    assert finding["count"] == 11


# ------------------------------------------------------------------------------------ trace format


def test_trace_records_follow_the_contract(tmp_path):
    path = tmp_path / "run.jsonl"
    with evalguard.trace(str(path), summary=False):
        model = Net()
        opt = torch.optim.SGD(model.parameters(), lr=0.1)
        model.eval()  # switch for the contract test
        for _ in range(3):
            train_step(model, opt, *batch())
    records = read_trace(path)
    start, end = records[0], records[-1]
    assert start["type"] == "start" and end["type"] == "end"
    assert set(start) >= {"type", "evalguard", "torch", "pid", "rank", "argv", "time"}
    assert start["evalguard"] == evalguard.__version__ and start["torch"] == torch.__version__
    assert start["pid"] == os.getpid() and start["rank"] is None and isinstance(start["time"], float)
    assert end["counts"] == {"EG001": 3} and end["steps"] == 3 and end["forwards"] == 3
    assert end["mode_changes"] == 1
    modes = [r for r in records if r["type"] == "mode"]
    assert modes == [
        {"type": "mode", "path": HERE, "line": line_of("model.eval()  # switch for the contract"),
         "module": "Net", "mode": "eval", "count": 1}
    ]
    findings = [r for r in records if r["type"] == "finding"]
    assert [f["count"] for f in findings] == [1, 3]  # first occurrence, then the final count
    f = findings[-1]
    assert set(f) == {"type", "code", "path", "line", "message", "count", "related"}
    assert (f["code"], f["path"], f["line"]) == ("EG001", HERE, line_of("opt.step()  # the step line"))
    assert {r["role"] for r in f["related"]} == {"forward", "switched_to_eval"}
    assert all(set(r) == {"role", "path", "line"} for r in f["related"])


def test_path_none_writes_nothing_and_keeps_findings(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    with evalguard.trace(None, summary=False) as tracer:
        model = Net().eval()
        opt = torch.optim.SGD(model.parameters(), lr=0.1)
        train_step(model, opt, *batch())
    assert os.listdir(tmp_path) == []
    assert codes(tracer) == {("EG001", line_of("opt.step()  # the step line"))}
    assert tracer.trace_path is None


def test_summary_on_stderr(capsys):
    with evalguard.trace(None):
        model = Net().eval()
        opt = torch.optim.SGD(model.parameters(), lr=0.1)
        train_step(model, opt, *batch())
    err = capsys.readouterr().err
    assert "evalguard: traced 1 forward, 1 optimizer step, 1 mode switch; 1 finding (EG001 x1)" in err
    assert f"test_runtime_tracer.py:{line_of('opt.step()  # the step line')}: EG001" in err


def test_hooks_sit_on_roots_only_never_globally():
    import torch.nn.modules.module as module_mod

    with Tracer(None, summary=False) as tracer:
        model = Net()
        loss_fn = nn.CrossEntropyLoss()
        assert not module_mod._global_forward_pre_hooks and not module_mod._global_forward_hooks
        hooked = [m for m in model.modules() if m._forward_pre_hooks]
        assert hooked == [model]
        assert not loss_fn._forward_pre_hooks  # no parameters, no children: never a root
        model.bn.eval()  # a leaf switched directly (BN freeze) is not hooked either
        assert [m for m in model.modules() if m._forward_pre_hooks] == [model]
        assert set(tracer.roots.states) == {id(model)}


def test_mode_records_get_final_counts(tmp_path):
    path = tmp_path / "t.jsonl"
    with Tracer(str(path), summary=False):
        model = Net()
        for _ in range(3):
            model.eval()  # three times from one line
            model.train()  # and back
    modes = [(r["mode"], r["count"]) for r in read_trace(path) if r["type"] == "mode"]
    assert modes == [("eval", 1), ("train", 1), ("eval", 3), ("train", 3)]


# ------------------------------------------------------------------------------------ EG001


def test_linear_only_model_in_eval_trains_identically_and_is_not_reported():
    with Tracer(None, summary=False) as tracer:
        model = nn.Sequential(nn.Linear(6, 8), nn.ReLU(), nn.Linear(8, 3)).eval()
        opt = torch.optim.SGD(model.parameters(), lr=0.1)
        train_step(model, opt, *batch())
    assert tracer.findings == []


def test_dropout_with_p_zero_and_bn_without_running_stats_are_not_mode_sensitive():
    with Tracer(None, summary=False) as tracer:
        model = nn.Sequential(nn.Linear(6, 8), nn.Dropout(0.0), nn.BatchNorm1d(8, track_running_stats=False), nn.Linear(8, 3))
        model.eval()
        opt = torch.optim.SGD(model.parameters(), lr=0.1)
        train_step(model, opt, *batch())
    assert tracer.findings == []


def test_bn_freeze_loop_after_train_is_not_eg001_or_eg009():
    with Tracer(None, summary=False) as tracer:
        model = Net()
        opt = torch.optim.SGD(model.parameters(), lr=0.1)
        for _ in range(2):
            model.train()
            for m in model.modules():
                if isinstance(m, nn.BatchNorm1d):
                    m.eval()
            train_step(model, opt, *batch())
    assert tracer.findings == []


def test_eval_body_with_head_switched_back_to_train_is_deliberate():
    with Tracer(None, summary=False) as tracer:
        model = nn.Sequential(nn.Linear(6, 8), nn.BatchNorm1d(8), nn.Sequential(nn.Dropout(0.1), nn.Linear(8, 3)))
        opt = torch.optim.SGD(model[2].parameters(), lr=0.1)
        model.eval()
        model[2].train()
        train_step(model, opt, *batch())
    assert tracer.findings == []


class Wrapper(nn.Module):
    def __init__(self, module):
        super().__init__()
        self.module = module

    def forward(self, x):
        return self.module(x)


def test_eval_on_the_module_inside_a_wrapper_is_eg001_at_the_step():
    with Tracer(None, summary=False) as tracer:
        model = Wrapper(Net())
        opt = torch.optim.SGD(model.parameters(), lr=0.1)
        model.module.eval()  # eval on the wrapped module
        train_step(model, opt, *batch())
    (finding,) = tracer.findings
    assert (finding.code, finding.location[1]) == ("EG001", line_of("opt.step()  # the step line"))
    assert "while Net is in eval mode" in finding.message
    assert f":{line_of('model.module.eval()  # eval on the wrapped')}" in finding.message


def test_model_in_eval_before_tracing_started_is_reported_without_a_switch_location():
    model = Net().eval()
    opt = torch.optim.SGD(model.parameters(), lr=0.1)
    with Tracer(None, summary=False) as tracer:
        train_step(model, opt, *batch())
    (finding,) = tracer.findings
    assert finding.code == "EG001" and "since before tracing started" in finding.message


def test_model_built_before_tracing_without_scan_is_found_at_the_first_step():
    model = Net()
    opt = torch.optim.SGD(model.parameters(), lr=0.1)
    with Tracer(None, summary=False, scan_existing=False) as tracer:
        model.eval()
        train_step(model, opt, *batch())
    assert codes(tracer) == {("EG001", line_of("opt.step()  # the step line"))}


class FrozenBNNet(Net):
    """Keeps its BatchNorm in eval whatever train() is asked for."""

    def train(self, mode=True):
        super().train(mode)
        self.bn.eval()
        return self


def test_train_override_is_respected_and_attributed_to_the_caller(tmp_path):
    path = tmp_path / "t.jsonl"
    with Tracer(str(path), summary=False) as tracer:
        model = FrozenBNNet()
        opt = torch.optim.SGD(model.parameters(), lr=0.1)
        model.train()  # call of an overriding train()
        assert model.training and model.drop.training and not model.bn.training
        train_step(model, opt, *batch())
        model.eval()  # between the two train() calls
        model.train()  # again: its super().train() flips bn back, the override re-freezes it
        train_step(model, opt, *batch())
    assert tracer.findings == []
    modes = {(r["line"], r["module"], r["mode"]) for r in read_trace(path) if r["type"] == "mode"}
    line = line_of("model.train()  # call of an overriding")
    again = line_of("model.train()  # again: its super()")
    assert modes == {
        (line, "FrozenBNNet", "train"),
        (line, "BatchNorm1d", "eval"),
        (line_of("model.eval()  # between the two"), "FrozenBNNet", "eval"),
        (line_of("model.eval()  # between the two"), "BatchNorm1d", "eval"),  # eval() runs the override
        (again, "FrozenBNNet", "train"),
        (again, "BatchNorm1d", "eval"),
    }


def test_only_the_outermost_train_call_is_recorded():
    with Tracer(None, summary=False) as tracer:
        model = Net()
        model.eval()
        model.train()
    assert tracer.mode_changes == 2
    assert len(list(model.modules())) == 5


def test_a_training_loop_function_named_train_is_not_skipped_as_an_override():
    def train(model):
        model.train()  # inside a loop function named train

    with Tracer(None, summary=False) as tracer:
        model = Net()
        train(model)
    ((loc, _cls, _mode),) = tracer._mode_counts
    assert loc[1] == line_of("model.train()  # inside a loop function named train")


def test_non_bool_mode_still_raises_and_is_not_recorded():
    with Tracer(None, summary=False) as tracer:
        model = Net()
        with pytest.raises(ValueError):
            model.train("False")
    assert tracer.mode_changes == 0


# ------------------------------------------------------------------------------------ EG003 / EG002


def test_eg003_under_inference_mode_and_quiet_after_eval():
    with Tracer(None, summary=False) as tracer:
        model = Net()
        with torch.inference_mode():
            model(batch()[0])  # forward in train mode under inference_mode
        model.eval()
        with torch.no_grad():
            model(batch()[0])
    (finding,) = tracer.findings
    assert (finding.code, finding.location[1]) == ("EG003", line_of("model(batch()[0])  # forward in train mode"))
    assert "torch.inference_mode()" in finding.message


def test_model_created_before_tracing_is_found_by_the_scan():
    model = Net()
    with Tracer(None, summary=False) as tracer:
        with torch.no_grad():
            model(batch()[0])  # a model from before tracing
    assert codes(tracer) == {("EG003", line_of("model(batch()[0])  # a model from before"))}


def test_dropout_only_model_single_no_grad_forward_is_reported_at_exit():
    with Tracer(None, summary=False) as tracer:
        model = nn.Sequential(nn.Linear(6, 8), nn.Dropout(0.5), nn.Linear(8, 3))
        with torch.no_grad():
            model(batch()[0])  # one forward, dropout-only
    assert codes(tracer) == {("EG003", line_of("model(batch()[0])  # one forward, dropout-only"))}


def test_dropout_only_model_with_changing_inputs_is_reported_with_its_count():
    with Tracer(None, summary=False) as tracer:
        model = nn.Sequential(nn.Linear(6, 8), nn.Dropout(0.5), nn.Linear(8, 3))
        with torch.no_grad():
            for _ in range(5):
                model(batch()[0])  # five inputs, dropout-only
    (finding,) = tracer.findings
    assert finding.code == "EG003" and finding.count == 5


def test_update_bn_from_torch_is_not_reported():
    from torch.optim.swa_utils import AveragedModel, update_bn

    with Tracer(None, summary=False) as tracer:
        model = Net()
        swa = AveragedModel(model)
        update_bn([batch()[0] for _ in range(3)], swa)
    assert tracer.findings == []


def test_mc_dropout_with_grad_enabled_is_not_eg002():
    with Tracer(None, summary=False) as tracer:
        model = nn.Sequential(nn.Linear(6, 8), nn.Dropout(0.3), nn.Linear(8, 1))
        x = batch()[0]
        samples = torch.stack([model(x) for _ in range(10)])  # same input, dropout on purpose
        samples.std(0)
    assert tracer.findings == []


def test_eg002_needs_a_line_never_backpropagated():
    with Tracer(None, summary=False) as tracer:
        model = Net()
        opt = torch.optim.SGD(model.parameters(), lr=0.1)
        for i in range(12):
            out = model(batch()[0])  # trains, except one skipped batch
            if i == 3:
                continue
            loss = out.logsumexp(1).mean()
            opt.zero_grad()
            loss.backward()
            opt.step()
    assert tracer.findings == []


class REINFORCEPolicy(nn.Module):
    def __init__(self):
        super().__init__()
        self.net = nn.Sequential(nn.Linear(4, 16), nn.Dropout(0.3), nn.ReLU(), nn.Linear(16, 2))

    def forward(self, x):
        return F.softmax(self.net(x), dim=-1)


def test_episode_of_forwards_then_one_backward_is_not_eg002():
    with Tracer(None, summary=False) as tracer:
        policy = REINFORCEPolicy()
        opt = torch.optim.Adam(policy.parameters(), lr=1e-2)
        for _episode in range(2):
            log_probs = []
            for _t in range(12):
                probs = policy(torch.randn(1, 4))
                log_probs.append(torch.log(probs[0, 0]))
            loss = -torch.stack(log_probs).sum()
            opt.zero_grad()
            loss.backward()
            opt.step()
    assert tracer.findings == []


def test_frozen_teacher_never_switched_to_eval_is_eg002():
    with Tracer(None, summary=False) as tracer:
        teacher, student = Net(), Net()
        teacher.requires_grad_(False)
        opt = torch.optim.SGD(student.parameters(), lr=0.1)
        for _ in range(3):
            x, _y = batch()
            target = teacher(x)  # teacher forward in train mode
            loss = F.mse_loss(student(x), target.softmax(-1))
            opt.zero_grad()
            loss.backward()
            opt.step()
    assert codes(tracer) == {("EG002", line_of("target = teacher(x)  # teacher forward"))}
    assert tracer.findings[0].count == 3


def test_interrupted_first_training_step_is_not_eg002():
    with pytest.raises(KeyboardInterrupt):
        with Tracer(None, summary=False) as tracer:
            model = Net()
            model(batch()[0])
            raise KeyboardInterrupt
    assert tracer.findings == []


class Student(nn.Module):
    def __init__(self, teacher):
        super().__init__()
        self.body = Net()
        self.teachers = [teacher]  # a plain list: not a submodule

    def forward(self, x):
        with torch.no_grad():
            hint = self.teachers[0](x)
        return self.body(x) + hint


def test_root_called_inside_another_roots_forward_is_not_top_level():
    with Tracer(None, summary=False) as tracer:
        model = Student(Net()).eval()
        with torch.no_grad():
            model(batch()[0])
    assert tracer.findings == []


# ------------------------------------------------------------------------------------ EG006 / EG009


def test_mc_dropout_enabled_by_direct_train_calls_is_not_eg006():
    with Tracer(None, summary=False) as tracer:
        model = Net().eval()
        for m in model.modules():
            if isinstance(m, nn.Dropout):
                m.train()
        with torch.no_grad():
            model(batch()[0])
    assert tracer.findings == []


def test_training_flag_on_a_child_is_seen_within_the_refresh_window():
    with Tracer(None, summary=False) as tracer:
        model = nn.Sequential(nn.Linear(6, 8), nn.Sequential(nn.BatchNorm1d(8), nn.Dropout(0.1)), nn.Linear(8, 3))
        model.eval()
        with torch.no_grad():
            for i in range(70):
                if i == 5:
                    model.training = True  # flag on the root only
                    model[1].training = False
                model(batch()[0])
    assert tracer.findings == []  # children of the root still eval: nothing is active


def test_eg009_quiet_when_the_part_is_trained_by_the_step():
    with Tracer(None, summary=False) as tracer:
        model = Wrapper(nn.Sequential(Net(), nn.Linear(3, 3)))
        opt = torch.optim.SGD(model.parameters(), lr=0.1)
        model.module[0].eval()  # evaluates a part, then trains everything
        model.train()
        train_step(model, opt, *batch())
    assert tracer.findings == []


def test_eg009_bn_freeze_loop_undone_by_train_is_reported_at_train():
    with Tracer(None, summary=False) as tracer:
        model = Net()
        opt = torch.optim.SGD(model.parameters(), lr=0.1)
        for m in model.modules():
            if isinstance(m, nn.BatchNorm1d):
                m.eval()  # freeze BN
        for _ in range(2):
            model.train()  # undoes the BN freeze
            train_step(model, opt, *batch())
    (finding,) = tracer.findings
    assert (finding.code, finding.location[1]) == ("EG009", line_of("model.train()  # undoes the BN freeze"))
    assert finding.count == 2 and "`bn` (BatchNorm1d)" in finding.message
    assert dict(finding.related)["frozen_with_eval"][1] == line_of("m.eval()  # freeze BN")


# ------------------------------------------------------------------------------------ copies, pickles, compile


def test_deepcopy_and_pickle_carry_no_tracer_hooks_and_copies_are_traced():
    with Tracer(None, summary=False) as tracer:
        model = Net()
        assert any(isinstance(h, RootHook) for h in model._forward_pre_hooks.values())
        ema = copy.deepcopy(model)
        assert id(ema) in tracer.roots.states  # the copy is a traced root of its own
        (hook,) = ema._forward_pre_hooks.values()
        assert hook.state is tracer.roots.states[id(ema)]
        buffer = io.BytesIO()
        torch.save(model, buffer)
        blob = pickle.dumps(model)
        with torch.no_grad():
            ema(batch()[0])  # EMA copy never switched to eval
    assert codes(tracer) == {("EG003", line_of("ema(batch()[0])  # EMA copy"))}
    for restored in (torch.load(io.BytesIO(buffer.getvalue()), weights_only=False), pickle.loads(blob), copy.deepcopy(model)):
        assert len(restored._forward_pre_hooks) == 0
    assert len(model._forward_pre_hooks) == 0 and len(ema._forward_pre_hooks) == 0


def test_lstm_top_level_module_pickles_to_an_inert_hook():
    with Tracer(None, summary=False):
        lstm = nn.LSTM(4, 8, num_layers=2, dropout=0.2)
        blob = pickle.dumps(lstm)  # LSTM overrides __getstate__: the hook's own __reduce__ applies
    restored = pickle.loads(blob)
    out, _ = restored(torch.randn(3, 2, 4))
    assert out.shape == (3, 2, 8)
    assert "evalguard" not in repr(list(restored._forward_pre_hooks.values()))


def test_torch_compile_fullgraph_with_tracer_has_no_graph_break_and_still_sees_steps():
    from torch.nn import Module

    train_before = Module.__dict__["train"]
    with Tracer(None, summary=False) as tracer:
        model = Net()
        model.train()  # make it a user-set root as well
        explanation = torch._dynamo.explain(model)(batch()[0])
        assert explanation.graph_break_count == 0
        compiled = torch.compile(model, backend="eager", fullgraph=True)
        opt = torch.optim.SGD(model.parameters(), lr=0.1)
        for i in range(3):
            train_step(compiled, opt, *batch())
            if i == 0:
                model.eval()  # compiled model switched to eval
        def evaluate(x):  # mode switches inside a compiled function
            model.eval()
            out = model(x)
            model.train()
            return out

        assert torch._dynamo.explain(evaluate)(batch()[0]).graph_break_count == 0
        torch.compile(evaluate, backend="eager", fullgraph=True)(batch()[0])
    assert codes(tracer) == {("EG001", line_of("opt.step()  # the step line"))}
    assert tracer.forwards >= 3
    assert Module.__dict__["train"] is train_before
    setstate = Module.__dict__["__setstate__"]
    cells = [c.cell_contents for c in (setstate.__closure__ or ())]
    assert not any("evalguard" in getattr(c, "__module__", "") for c in cells + [setstate])


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs CUDA")
def test_cuda_training_under_sync_debug_mode_error():
    model = Net().cuda()
    opt = torch.optim.SGD(model.parameters(), lr=0.1)
    x, y = batch()
    x, y = x.cuda(), y.cuda()
    train_step(model, opt, x, y)  # warm-up outside the check
    with Tracer(None, summary=False) as tracer:
        torch.cuda.set_sync_debug_mode("error")
        try:
            model.eval()
            for _ in range(3):
                train_step(model, opt, x, y)
            with torch.no_grad():
                model.train()
                model(x)
        finally:
            torch.cuda.set_sync_debug_mode(0)
    assert {f.code for f in tracer.findings} == {"EG001", "EG003"}


def test_evalguard_trace_is_the_tracer_api():
    tracer = evalguard.trace(None, summary=False)
    assert isinstance(tracer, evalguard.Tracer)
    assert sys.modules["evalguard.runtime.tracer"].trace is evalguard.trace


def test_flags_restored_after_an_eval_block_are_not_eg001():
    """`evalguard.eval_mode` (and Lightning) put every submodule's own flag back after `eval()`."""
    with Tracer(None, summary=False) as tracer:
        model = Net()
        opt = torch.optim.SGD(model.parameters(), lr=0.1)
        model.train()
        model.bn.eval()  # frozen BN
        flags = {m: m.training for m in model.modules()}
        model.eval()  # validation ...
        for m, flag in flags.items():  # ... then each flag restored directly
            m.training = flag
        train_step(model, opt, *batch())
    assert tracer.findings == []


def test_generated_fsdp_class_names_map_back_to_the_user_class():
    from evalguard.runtime.detect import class_name

    class FSDPModule:
        pass

    generated = type("FSDPNet", (FSDPModule, Net), {})
    assert class_name(generated.__new__(generated)) == "Net"
    assert class_name(Net()) == "Net"


def test_forwards_of_a_compiled_model_are_checked_at_the_users_line():
    with Tracer(None, summary=False) as tracer:
        model = Net()
        compiled = torch.compile(model, backend="eager")
        with torch.no_grad():
            compiled(batch()[0])  # compiled model, train mode, no_grad
    assert codes(tracer) == {("EG003", line_of("compiled(batch()[0])  # compiled model"))}


class Classifier(nn.Module):
    def __init__(self):
        super().__init__()
        self.backbone = nn.Sequential(nn.Linear(6, 16), nn.BatchNorm1d(16), nn.ReLU())
        self.head = nn.Linear(16, 3)

    def forward(self, x):
        return self.head(self.backbone(x))  # the backbone inside the model's forward


def test_a_part_the_user_switches_is_watched_when_called_on_its_own():
    with Tracer(None, summary=False) as tracer:
        model = Classifier()
        model.backbone.train()
        with torch.no_grad():
            model(batch()[0])  # the whole model: EG003 here, not inside forward
            model.backbone(batch()[0])  # the part on its own
    assert codes(tracer) == {
        ("EG003", line_of("model(batch()[0])  # the whole model")),
        ("EG003", line_of("model.backbone(batch()[0])  # the part on its own")),
    }
    assert line_of("return self.head(self.backbone(x))  # the backbone inside") not in {
        f.location[1] for f in tracer.findings
    }
