"""#7: tracing changes nothing a run computes, and leaves torch exactly as it found it."""

from __future__ import annotations

import json
import os
import sys
import threading

import pytest
from runtime_support import read_trace, single_thread, torch_state

torch = pytest.importorskip("torch")
nn = torch.nn
F = torch.nn.functional

import evalguard  # noqa: E402
from evalguard.runtime.runner import run_target  # noqa: E402
from evalguard.runtime.trace_file import TraceFileError  # noqa: E402
from evalguard.runtime.tracer import Tracer  # noqa: E402

one_thread = pytest.fixture(autouse=True)(single_thread)


def make_model():
    return nn.Sequential(
        nn.Conv2d(1, 4, 3, padding=1), nn.BatchNorm2d(4), nn.ReLU(), nn.Flatten(), nn.Dropout(0.3), nn.Linear(64, 3)
    )


def run_steps(seed: int, steps: int = 4):
    """Outputs, gradients, parameters and BN buffers of a few steps, one eval() in between."""
    torch.manual_seed(seed)
    model = make_model()
    opt = torch.optim.SGD(model.parameters(), lr=0.1, momentum=0.9)
    x, y = torch.randn(steps, 8, 1, 4, 4), torch.randint(0, 3, (steps, 8))
    outs, grads = [], []
    for i in range(steps):
        model.train()
        out = model(x[i])
        loss = F.cross_entropy(out, y[i])
        opt.zero_grad()
        loss.backward()
        opt.step()
        outs.append(out.detach().clone())
        grads.append([p.grad.clone() for p in model.parameters()])
        if i == 1:
            model.eval()
            with torch.no_grad():
                outs.append(model(x[i]).clone())
    state = {k: v.clone() for k, v in model.state_dict().items()}
    return outs, grads, state


def test_outputs_and_gradients_are_bitwise_identical_with_and_without_the_tracer():
    plain = run_steps(1234)
    with Tracer(None, summary=False) as tracer:
        traced = run_steps(1234)
    assert tracer.forwards == 5 and tracer.steps == 4
    for a, b in zip(plain[0], traced[0]):
        assert torch.equal(a, b)
    for ga, gb in zip(plain[1], traced[1]):
        assert all(torch.equal(p, q) for p, q in zip(ga, gb))
    assert plain[2].keys() == traced[2].keys()
    assert all(torch.equal(plain[2][k], traced[2][k]) for k in plain[2])
    # the RNG stream is untouched too
    torch.manual_seed(5)
    a = torch.rand(3)
    with Tracer(None, summary=False):
        torch.manual_seed(5)
        b = torch.rand(3)
    assert torch.equal(a, b)


# ------------------------------------------------------------------------------------ exact restore


def module_hooks(model):
    return [
        (dict(m._forward_pre_hooks), dict(m._forward_hooks), dict(m._forward_hooks_always_called)) for m in model.modules()
    ]


def traced_work(model_holder):
    model = make_model()
    model_holder.append(model)
    opt = torch.optim.SGD(model.parameters(), lr=0.1)
    model.eval()
    out = model(torch.randn(2, 1, 4, 4))
    F.cross_entropy(out, torch.tensor([0, 1])).backward()
    opt.step()
    return model


@pytest.mark.parametrize("how", ["normal", "exception", "keyboard_interrupt", "system_exit"])
def test_exit_restores_torch_exactly(how, tmp_path):
    before = torch_state()
    existing = make_model()
    existing_hooks = module_hooks(existing)
    made = []
    raised = {"normal": None, "exception": ValueError, "keyboard_interrupt": KeyboardInterrupt, "system_exit": SystemExit}[how]
    try:
        with Tracer(str(tmp_path / "t.jsonl"), summary=False) as tracer:
            traced_work(made)
            assert nn.Module.__dict__["train"] is not before["train"]
            if raised is not None:
                raise raised("stop")
    except (ValueError, KeyboardInterrupt, SystemExit):
        pass
    assert torch_state() == before
    assert module_hooks(existing) == existing_hooks
    assert all(not any(d) for d in module_hooks(made[0])[0])
    assert all(not any(hooks) for hooks in module_hooks(made[0]))
    assert tracer.findings and read_trace(tmp_path / "t.jsonl")[-1]["type"] == "end"


def test_sys_exit_inside_evalguard_run_restores_torch(tmp_path):
    script = tmp_path / "exits.py"
    script.write_text(
        "import sys, torch\n"
        "model = torch.nn.Sequential(torch.nn.Linear(2, 2), torch.nn.Dropout())\n"
        "model.eval()\n"
        "sys.exit(4)\n"
    )
    before = torch_state()
    assert run_target(str(script), [], module=False, trace_path=str(tmp_path / "t.jsonl"), summary=False) == 4
    assert torch_state() == before
    assert read_trace(tmp_path / "t.jsonl")[-1]["type"] == "end"


def test_uncaught_exception_inside_evalguard_run_restores_torch(tmp_path, capsys):
    script = tmp_path / "boom.py"
    script.write_text("import torch\nmodel = torch.nn.Linear(2, 2)\nmodel.train()\nraise RuntimeError('boom')\n")
    before = torch_state()
    assert run_target(str(script), [], module=False, trace_path=None, summary=False) == 1
    assert torch_state() == before
    err = capsys.readouterr().err
    assert "RuntimeError: boom" in err and "runpy" not in err and "runner.py" not in err


# ------------------------------------------------------------------------------------ one tracer at a time


def test_nested_tracer_is_refused_and_the_outer_one_keeps_working():
    with Tracer(None, summary=False) as outer:
        with pytest.raises(RuntimeError, match="evalguard: a tracer is already active"):
            with evalguard.trace(None, summary=False):
                pass
        model = make_model().eval()
        opt = torch.optim.SGD(model.parameters(), lr=0.1)
        F.cross_entropy(model(torch.randn(2, 1, 4, 4)), torch.tensor([0, 1])).backward()
        opt.step()
    assert [f.code for f in outer.findings] == ["EG001"]
    # and a new one may start afterwards
    with Tracer(None, summary=False):
        pass


def test_concurrent_tracer_from_another_thread_is_refused():
    errors = []

    def second():
        try:
            Tracer(None, summary=False).start()
        except RuntimeError as exc:
            errors.append(str(exc))

    with Tracer(None, summary=False):
        thread = threading.Thread(target=second)
        thread.start()
        thread.join()
    assert errors and "already active" in errors[0]


def test_a_tracer_runs_once():
    tracer = Tracer(None, summary=False)
    with tracer:
        pass
    with pytest.raises(RuntimeError, match="already run"):
        tracer.start()


# ------------------------------------------------------------------------------------ threads


def test_two_threads_training_two_models_write_a_valid_trace(tmp_path):
    path = tmp_path / "threads.jsonl"
    barrier = threading.Barrier(2)

    def worker(name, buggy):
        torch.manual_seed(0)
        model = make_model()
        opt = torch.optim.SGD(model.parameters(), lr=0.01)
        barrier.wait()
        for i in range(40):
            model.train()
            out = model(torch.randn(4, 1, 4, 4))
            F.cross_entropy(out, torch.randint(0, 3, (4,))).backward()
            opt.step()
            opt.zero_grad()
            if buggy:
                model.eval()  # the buggy thread switches and never switches back
            with torch.no_grad():
                model(torch.randn(4, 1, 4, 4))

    with Tracer(str(path), summary=False) as tracer:
        threads = [threading.Thread(target=worker, args=(n, n == "bad")) for n in ("good", "bad")]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
    with open(path, encoding="utf-8") as handle:
        lines = handle.read().splitlines()
    records = [json.loads(line) for line in lines]  # every line is one JSON object
    assert records[0]["type"] == "start" and records[-1]["type"] == "end"
    # good: the no-grad forward after each step runs in train mode (EG003); bad: eval() before
    # it, train() again at the top of the loop: nothing to report.
    assert {f.code for f in tracer.findings} == {"EG003"}
    (eg003,) = tracer.findings
    assert eg003.count == 40  # only the good thread's no-grad forwards run in train mode
    assert records[-1]["steps"] == 80 and records[-1]["forwards"] == 160


# ------------------------------------------------------------------------------------ trace file errors


def test_missing_directory_fails_at_start_with_nothing_installed(tmp_path):
    before = torch_state()
    with pytest.raises(TraceFileError, match="cannot write trace file .*No such file or directory"):
        with evalguard.trace(str(tmp_path / "no" / "such" / "dir" / "t.jsonl"), summary=False):
            pytest.fail("the block must not run")
    assert torch_state() == before
    with Tracer(None, summary=False):  # nothing left active
        pass


@pytest.mark.skipif(not os.path.exists("/dev/full"), reason="needs /dev/full")
def test_full_disk_fails_at_start():
    before = torch_state()
    with pytest.raises(TraceFileError, match="No space left on device"):
        Tracer("/dev/full", summary=False).start()
    assert torch_state() == before


@pytest.mark.skipif(sys.platform == "win32" or os.geteuid() == 0, reason="root can write anywhere")
def test_read_only_directory_fails_at_start(tmp_path):
    tmp_path.chmod(0o500)
    try:
        with pytest.raises(TraceFileError, match="Permission denied"):
            Tracer(str(tmp_path / "t.jsonl"), summary=False).start()
    finally:
        tmp_path.chmod(0o700)


def test_write_failure_mid_run_warns_once_and_training_goes_on(tmp_path, capsys):
    path = tmp_path / "t.jsonl"

    class Broken:
        def __init__(self, handle):
            self.handle = handle

        def write(self, text):
            raise OSError(28, "No space left on device")

        def flush(self):
            raise OSError(28, "No space left on device")

        def close(self):
            self.handle.close()

    with Tracer(str(path), summary=False) as tracer:
        tracer._writer._handle = Broken(tracer._writer._handle)
        for _ in range(3):
            model = make_model().eval()
            opt = torch.optim.SGD(model.parameters(), lr=0.1)
            F.cross_entropy(model(torch.randn(2, 1, 4, 4)), torch.tensor([0, 1])).backward()
            opt.step()
    err = capsys.readouterr().err
    assert err.count("cannot write trace file") == 1 and "tracing goes on" in err
    assert tracer.steps == 3 and tracer.findings
    assert [r["type"] for r in read_trace(path)] == ["start"]


def test_forked_child_does_not_trace_or_write(tmp_path):
    if not hasattr(os, "fork"):
        pytest.skip("needs fork")
    path = tmp_path / "t.jsonl"
    with Tracer(str(path), summary=False) as tracer:
        pid = os.fork()
        if pid == 0:  # child: like a DataLoader worker
            ok = not tracer.enabled
            model = make_model().eval()
            opt = torch.optim.SGD(model.parameters(), lr=0.1)
            F.cross_entropy(model(torch.randn(2, 1, 4, 4)), torch.tensor([0, 1])).backward()
            opt.step()
            os._exit(0 if ok and tracer.steps == 0 else 1)
        _, status = os.waitpid(pid, 0)
        assert os.WEXITSTATUS(status) == 0
    assert [r["type"] for r in read_trace(path)] == ["start", "end"]
