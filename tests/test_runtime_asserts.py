"""Runtime assertions (`expect_eval`/`expect_train`/`expect_mode`) and `eval_mode`/`train_mode`, on real
torch modules with Dropout and BatchNorm."""

from __future__ import annotations

import asyncio
import inspect
import subprocess
import sys

import pytest

torch = pytest.importorskip("torch")
from torch import nn  # noqa: E402

import evalguard  # noqa: E402
from evalguard import ModeAssertionError, eval_mode, expect_eval, expect_mode, expect_train, train_mode  # noqa: E402


class Backbone(nn.Module):
    def __init__(self):
        super().__init__()
        self.conv1 = nn.Conv2d(3, 8, 3)
        self.bn1 = nn.BatchNorm2d(8)
        self.drop = nn.Dropout(0.1)

    def forward(self, x):
        return self.drop(torch.relu(self.bn1(self.conv1(x))))


class Net(nn.Module):
    """Modules in named_modules() order: "", backbone, backbone.conv1, backbone.bn1, backbone.drop, pool, head."""

    def __init__(self):
        super().__init__()
        self.backbone = Backbone()
        self.pool = nn.AdaptiveAvgPool2d(1)
        self.head = nn.Linear(8, 2)

    def forward(self, x):
        return self.head(self.pool(self.backbone(x)).flatten(1))

    @expect_eval
    def predict(self, x):
        return self(x).argmax(1)


def flags(model: nn.Module) -> dict[str, bool]:
    return {name: m.training for name, m in model.named_modules()}


@expect_eval
def evaluate(model, loader=None, *, scale: float = 1.0):
    """Evaluate."""
    return ("evaluated", loader, scale)


def message(call) -> str:
    with pytest.raises(ModeAssertionError) as info:
        call()
    return str(info.value)


# ------------------------------------------------------------------------------------ decorators


def test_import_evalguard_stays_torch_free_until_a_runtime_name_is_used():
    code = (
        "import sys, evalguard; assert 'torch' not in sys.modules; "
        "evalguard.expect_eval; assert 'torch' in sys.modules"
    )
    subprocess.run([sys.executable, "-c", code], check=True)


def test_eval_model_passes_and_the_return_value_comes_back():
    model = Net().eval()
    assert evaluate(model, [1], scale=2.0) == ("evaluated", [1], 2.0)
    assert evaluate(loader=None, model=model) == ("evaluated", None, 1.0)


def test_train_model_fails_with_function_argument_and_modes_named():
    assert message(lambda: evaluate(Net())) == (
        "evaluate() expects `model` (Net) in eval mode, but it is in train mode"
    )
    assert message(lambda: evaluate(loader=[], model=Net())).startswith("evaluate() expects `model` (Net)")
    assert issubclass(ModeAssertionError, AssertionError)


def test_mixed_modes_name_the_offending_submodules():
    model = Net().eval()
    model.backbone.bn1.train()
    assert message(lambda: evaluate(model)) == (
        "evaluate() expects `model` (Net) in eval mode, but it has submodules in train mode: backbone.bn1"
    )


def test_train_expected_with_frozen_batchnorm_names_it():
    model = Net().train()
    model.backbone.bn1.eval()  # the freezing idiom: expect_train checks all submodules, so this fails

    @expect_train
    def fit(model):
        return "fit"

    assert message(lambda: fit(model)) == (
        "fit() expects `model` (Net) in train mode,"
        " but it has submodules in eval mode: backbone.bn1"
    )
    model.backbone.bn1.train()
    assert fit(model) == "fit"


def test_root_in_the_wrong_mode_lists_the_shorter_side():
    model = Net().train()
    model.backbone.bn1.eval()
    assert message(lambda: evaluate(model)) == (
        "evaluate() expects `model` (Net) in eval mode, but it is in train mode,"
        " and so are all its submodules but backbone.bn1"
    )
    model = Net().eval()
    model.train(True).backbone.train(False)  # root and head/pool in train, the backbone in eval
    assert message(lambda: evaluate(model)) == (
        "evaluate() expects `model` (Net) in eval mode, but it is in train mode,"
        " and so are its submodules pool, head"
    )
    model = Net().eval()
    model.training = True  # EG006's bug: only the root
    assert message(lambda: evaluate(model)) == (
        "evaluate() expects `model` (Net) in eval mode, but it is in train mode (its submodules are in eval mode)"
    )


def test_many_offenders_are_capped():
    model = nn.Sequential(*[nn.Dropout() for _ in range(8)]).eval()
    for layer in model:
        layer.train()
    assert message(lambda: evaluate(model)) == (
        "evaluate() expects `model` (Sequential) in eval mode, but it has submodules in train mode:"
        " 0, 1, 2, 3, 4 and 3 more"
    )


def test_a_module_without_mode_sensitive_layers_is_still_checked():
    assert "is in train mode" in message(lambda: evaluate(nn.Linear(2, 2)))


def test_every_module_argument_is_checked_positional_keyword_varargs_and_collections():
    @expect_eval
    def compare(a, *models, teacher=None, **extra):
        return "ok"

    good = Net().eval()
    assert compare(good, good, teacher=good, other=good, n=3, more=[good], table={"x": good}) == "ok"
    assert "`a` (Net)" in message(lambda: compare(Net()))
    assert "`models[1]` (Net)" in message(lambda: compare(good, good, Net()))
    assert "`teacher` (Net)" in message(lambda: compare(good, teacher=Net()))
    assert "`other` (Linear)" in message(lambda: compare(good, other=nn.Linear(1, 1)))
    assert "`a[1]` (Net)" in message(lambda: compare([good, Net()]))
    assert "`a['b']` (Net)" in message(lambda: compare({"a": good, "b": Net()}))
    assert compare(None, "text", 3) == "ok"  # non-modules are ignored


def test_args_restricts_the_checked_parameters():
    @expect_train(args=("model",))
    def distill(model, teacher, loader):
        return "distilled"

    student, teacher = Net().train(), Net().eval()
    assert distill(student, teacher, []) == "distilled"
    assert distill(teacher=teacher, loader=[], model=student) == "distilled"
    assert "`model` (Net) in train mode" in message(lambda: distill(teacher, teacher, []))

    @expect_mode("eval", args="teacher")
    def score(model, teacher):
        return "scored"

    assert score(student, teacher) == "scored"
    assert "`teacher`" in message(lambda: score(teacher, student))

    @expect_eval(args=["extra"])
    def kw(model, **extra):
        return "kw"

    assert kw(Net(), m=teacher) == "kw"
    assert "`m` (Net)" in message(lambda: kw(teacher, m=student))


def test_args_naming_no_parameter_is_a_decoration_time_error():
    expected = r"args= names 'modle', but .*f\(\) has no such parameter \(its parameters: model, x\)"
    with pytest.raises(TypeError, match=expected):

        @expect_eval(args=("modle",))
        def f(model, x):
            pass


def test_bad_decorator_use():
    with pytest.raises(ValueError, match='mode must be "train" or "eval"'):
        expect_mode("inference")
    with pytest.raises(TypeError, match="expect_mode needs a mode"):

        @expect_mode
        def f(model):
            pass

    with pytest.raises(TypeError, match="parameter names"):
        expect_eval(args=(1,))
    assert expect_eval()(evaluate.__wrapped__)(Net().eval())[0] == "evaluated"
    assert expect_mode("eval", evaluate.__wrapped__)(Net().eval())[0] == "evaluated"


def test_method_decorator_checks_self():
    model = Net()
    assert message(lambda: model.predict(torch.randn(2, 3, 8, 8))) == (
        "Net.predict() expects `self` (Net) in eval mode, but it is in train mode"
    )
    model.eval()
    assert model.predict(torch.randn(2, 3, 8, 8)).shape == (2,)


def test_static_and_class_methods_in_either_order():
    class Tools:
        @expect_eval
        @staticmethod
        def static(model):
            return "static"

        @staticmethod
        @expect_eval
        def static_inner(model):
            return "static"

        @expect_eval
        @classmethod
        def klass(cls, model):
            return cls.__name__

    assert Tools.static(Net().eval()) == Tools().static_inner(Net().eval()) == "static"
    assert Tools.klass(Net().eval()) == "Tools"
    assert message(lambda: Tools.klass(Net())) == "Tools.klass() expects `model` (Net) in eval mode, but it is in train mode"
    assert "`model` (Net)" in message(lambda: Tools.static(Net()))


def test_signature_name_doc_and_wrapped_are_preserved():
    assert inspect.signature(evaluate) == inspect.signature(evaluate.__wrapped__)
    assert str(inspect.signature(evaluate)) == "(model, loader=None, *, scale: 'float' = 1.0)"
    assert evaluate.__name__ == "evaluate"
    assert evaluate.__doc__ == "Evaluate."
    assert evaluate.__qualname__ == "evaluate"


def test_exceptions_pass_through_unchanged():
    error = KeyError("boom")

    @expect_eval
    def fails(model):
        raise error

    with pytest.raises(KeyError) as info:
        fails(Net().eval())
    assert info.value is error
    # A wrong call raises the function's own TypeError, not one from the decorator.
    with pytest.raises(TypeError, match="unexpected keyword argument 'nope'"):
        evaluate(Net().eval(), nope=1)


def test_generator_functions_are_checked_when_they_start():
    @expect_eval
    def predictions(model, batches):
        got = yield "ready"
        for b in batches:
            yield model(b).argmax(1).tolist(), got
        return "done"

    assert inspect.isgeneratorfunction(predictions)
    model = Net()
    gen = predictions(model, [torch.randn(1, 3, 8, 8)])  # created in train mode: nothing checked yet
    model.eval()
    assert next(gen) == "ready"
    assert gen.send("sent")[1] == "sent"
    with pytest.raises(StopIteration) as stop:
        next(gen)
    assert stop.value.value == "done"
    model.train()
    with pytest.raises(ModeAssertionError):
        next(predictions(model, []))


def test_coroutine_functions_stay_coroutine_functions():
    @expect_eval
    async def serve(model):
        return "served"

    assert inspect.iscoroutinefunction(serve)
    assert asyncio.run(serve(Net().eval())) == "served"
    with pytest.raises(ModeAssertionError):
        asyncio.run(serve(Net()))


def test_compiled_and_data_parallel_modules_are_named_without_wrapper_prefixes():
    model = Net().eval()
    model.backbone.bn1.train()
    compiled = torch.compile(model, backend="eager")
    assert message(lambda: evaluate(compiled)) == (
        "evaluate() expects `model` (OptimizedModule(Net)) in eval mode, but it has submodules in train mode:"
        " backbone.bn1"
    )
    parallel = nn.DataParallel(model)
    assert message(lambda: evaluate(parallel)) == (
        "evaluate() expects `model` (DataParallel(Net)) in eval mode, but it has submodules in train mode:"
        " backbone.bn1"
    )
    assert "but it is in train mode" in message(lambda: evaluate(nn.DataParallel(Net())))
    assert nn.DataParallel(Net().eval()).training  # a new wrapper is in train mode, its own flag unused:
    assert evaluate(nn.DataParallel(Net().eval()))[0] == "evaluated"
    model.backbone.bn1.eval()
    assert evaluate(compiled)[0] == evaluate(parallel)[0] == "evaluated"


def test_torch_compile_of_a_decorated_function_works_without_graph_breaks():
    torch._dynamo.reset()

    @expect_eval
    def infer(model, x):
        return model(x) * 2

    model = Net().eval()
    x = torch.randn(2, 3, 8, 8)
    compiled = torch.compile(infer, backend="eager")
    torch.testing.assert_close(compiled(model, x), infer(model, x))
    explanation = torch._dynamo.explain(infer)(model, x)
    assert explanation.graph_break_count == 0
    assert explanation.graph_count == 1
    # Decorating the compiled function checks on every call.
    checked = expect_eval(torch.compile(infer.__wrapped__, backend="eager"))
    torch.testing.assert_close(checked(model, x), infer(model, x))
    with pytest.raises(ModeAssertionError):
        checked(Net(), x)


def test_lazy_names_resolve_to_the_module_objects():
    from evalguard.runtime import asserts

    assert evalguard.expect_eval is asserts.expect_eval
    assert evalguard.eval_mode is asserts.eval_mode
    assert evalguard.ModeAssertionError is asserts.ModeAssertionError


# ------------------------------------------------------------------------------------ context managers


def frozen_bn_model() -> Net:
    model = Net().train()
    model.backbone.bn1.eval()
    return model


def test_eval_mode_switches_everything_and_restores_each_flag():
    model = frozen_bn_model()
    before = flags(model)
    with eval_mode(model) as inside:
        assert inside is model
        assert not any(flags(model).values())
    assert flags(model) == before
    assert model.backbone.bn1.training is False


def test_train_mode_keeps_frozen_batchnorm_frozen_afterwards():
    model = frozen_bn_model().eval()
    model.backbone.bn1.eval()
    model.head.train()  # something odd, restored exactly too
    before = flags(model)
    with train_mode(model):
        assert all(flags(model).values())
    assert flags(model) == before


def test_flags_are_restored_when_the_block_raises():
    model = frozen_bn_model()
    before = flags(model)
    with pytest.raises(RuntimeError, match="inside"):
        with eval_mode(model):
            raise RuntimeError("inside")
    assert flags(model) == before


def test_nested_and_reused_managers():
    model = frozen_bn_model()
    before = flags(model)
    outer = eval_mode(model)
    with outer:
        with train_mode(model.head):
            assert model.head.training and not model.backbone.training and not model.training
            with outer:  # the same object re-entered
                assert not model.head.training
            assert model.head.training
        assert not model.head.training
    assert flags(model) == before


def test_several_modules_at_once():
    a, b = frozen_bn_model(), nn.Dropout().eval()
    before = (flags(a), flags(b))
    with train_mode(a, b) as both:
        assert both == (a, b)
        assert a.backbone.bn1.training and b.training
    assert (flags(a), flags(b)) == before


def test_context_managers_work_as_decorators_with_recursion():
    model = frozen_bn_model()
    before = flags(model)
    seen = []

    @eval_mode(model)
    def probe(depth):
        seen.append(model.training)
        if depth:
            probe(depth - 1)
        return "probed"

    assert probe(2) == "probed"
    assert seen == [False, False, False]
    assert flags(model) == before


def test_mode_switch_calls_train_so_overrides_are_respected():
    class KeepsBNFrozen(Net):
        def train(self, mode=True):
            super().train(mode)
            self.backbone.bn1.eval()
            return self

    model = KeepsBNFrozen().eval()
    with train_mode(model):
        assert model.training and not model.backbone.bn1.training
    assert not any(flags(model).values())


def test_decorators_and_context_managers_together():
    model = Net()
    with eval_mode(model):
        assert evaluate(model)[0] == "evaluated"
    with pytest.raises(ModeAssertionError):
        evaluate(model)


def test_non_module_arguments_are_type_errors():
    with pytest.raises(TypeError, match=r"eval_mode\(\) takes nn.Module arguments, got str at position 1"):
        eval_mode(Net(), "model")
    with pytest.raises(TypeError, match=r"unpack a collection: train_mode\(\*models\)"):
        train_mode([Net(), Net()])
    with pytest.raises(TypeError, match=r"eval_mode\(\) needs at least one nn.Module"):
        eval_mode()
