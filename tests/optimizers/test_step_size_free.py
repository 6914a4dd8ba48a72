"""Prodigy, D-Adaptation and DoG against their reference implementations (`prodigyopt` 1.1.2,
`dadaptation` 3.2, `dog-optimizer` 1.0.3; PyTorch packages, skipped where absent).

Both sides take 200 steps from the same weights on the same batches; every gradient is
PyTorch's, taken at that side's own weights, so the two trajectories differ only by the
optimizers' arithmetic. In float64 they agree to 1e-10 (measured: below 1e-13) for every
option. In float32 the defaults agree to 1e-5 (the relative error of all the weights together;
measured 5e-9 to 4e-6). Some options make the reference itself chaotic at float32 precision:
moving its own initial weights by one part in 1e7 moves its weights after 200 steps by up to
1e-4 (Prodigy with beta_1=0 on the CNN, D-Adapt Adam with an L2 term): float32 rounding
cannot be compared there, so the options are compared in float64.
"""

import keras
import numpy as np
import pytest
from keras import ops

from kerasboost import optimizers

torch = pytest.importorskip("torch")
prodigyopt = pytest.importorskip("prodigyopt")
dadaptation = pytest.importorskip("dadaptation")
dog = pytest.importorskip("dog")
torch.set_num_threads(1)  # the reference's sums in one order, run after run (and no oversubscription)

STEPS = 200


def _mlp(params, x):
    w1, b1, w2, b2 = params
    return torch.tanh(x @ w1 + b1) @ w2 + b2


def _cnn(params, x):
    kernel, bias, w, b = params
    h = torch.relu(torch.nn.functional.conv2d(x, kernel, bias, padding=1))
    return h.mean(dim=(2, 3)) @ w + b


def _problem(kind, dtype):
    """Initial weights, batches and the network: a tanh MLP (8-16-3) or a ReLU CNN (3x3x2x4
    convolution, global pooling, 4-3), 16 samples of noise per batch, 3 classes."""
    rng = np.random.default_rng(0)
    if kind == "mlp":
        shapes, scales, x_shape, net = [(8, 16), (16,), (16, 3), (3,)], [8**-0.5, 0, 0.25, 0], (16, 8), _mlp
    else:
        shapes, scales, x_shape, net = [(4, 2, 3, 3), (4,), (4, 3), (3,)], [0.25, 0, 0.5, 0], (16, 2, 6, 6), _cnn
    init = [(rng.normal(size=s) * c).astype(dtype) for s, c in zip(shapes, scales)]
    x = rng.normal(size=(STEPS, *x_shape)).astype(dtype)
    y = rng.integers(0, 3, size=(STEPS, 16))
    return init, x, y, net


def _gradients(net, params, x, y):
    torch.nn.functional.cross_entropy(net(params, torch.from_numpy(x)), torch.from_numpy(y)).backward()
    return [p.grad for p in params]


def relative_error(kind, dtype, reference, ours):
    init, xs, ys, net = _problem(kind, dtype)
    theirs = [torch.tensor(a, requires_grad=True) for a in init]
    torch_optimizer = reference(theirs)
    variables = [keras.Variable(a, dtype=dtype) for a in init]
    optimizer = ours()
    for x, y in zip(xs, ys):
        torch_optimizer.zero_grad()
        _gradients(net, theirs, x, y)
        torch_optimizer.step()
        at_ours = [torch.tensor(np.asarray(v), requires_grad=True) for v in variables]
        grads = _gradients(net, at_ours, x, y)
        optimizer.apply([ops.convert_to_tensor(g.numpy()) for g in grads], variables)
    a = np.concatenate([p.detach().numpy().ravel() for p in theirs])
    b = np.concatenate([np.asarray(v).ravel() for v in variables])
    moved = np.linalg.norm(a - np.concatenate([i.ravel() for i in init]))
    assert moved > 1e-3 * np.linalg.norm(a), "the weights hardly moved: the comparison says nothing"
    return float(np.linalg.norm(a - b) / np.linalg.norm(a))


P, DA, D = prodigyopt.Prodigy, dadaptation, dog
CASES = {
    "Prodigy": (lambda p: P(p), lambda: optimizers.Prodigy()),
    "Prodigy[options]": (
        lambda p: P(
            p,
            betas=(0.9, 0.99),
            weight_decay=0.01,
            decouple=False,
            use_bias_correction=True,
            safeguard_warmup=True,
            growth_rate=1.02,
            d_coef=0.5,
        ),
        lambda: optimizers.Prodigy(
            beta_2=0.99,
            weight_decay=0.01,
            decouple=False,
            use_bias_correction=True,
            safeguard_warmup=True,
            growth_rate=1.02,
            d_coef=0.5,
        ),
    ),
    "Prodigy[decoupled decay]": (lambda p: P(p, weight_decay=0.1), lambda: optimizers.Prodigy(weight_decay=0.1)),
    "Prodigy[beta_1=0]": (lambda p: P(p, betas=(0.0, 0.999)), lambda: optimizers.Prodigy(beta_1=0.0)),
    "DAdaptAdam": (lambda p: DA.DAdaptAdam(p), lambda: optimizers.DAdaptAdam()),
    "DAdaptAdam[options]": (
        lambda p: DA.DAdaptAdam(p, weight_decay=0.01, decouple=True, use_bias_correction=True, growth_rate=1.05),
        lambda: optimizers.DAdaptAdam(weight_decay=0.01, decouple=True, use_bias_correction=True, growth_rate=1.05),
    ),
    "DAdaptAdam[L2]": (lambda p: DA.DAdaptAdam(p, weight_decay=0.01), lambda: optimizers.DAdaptAdam(weight_decay=0.01)),
    "DAdaptSGD": (lambda p: DA.DAdaptSGD(p), lambda: optimizers.DAdaptSGD()),
    "DAdaptSGD[options]": (
        lambda p: DA.DAdaptSGD(p, momentum=0.9, weight_decay=0.001, growth_rate=1.1),
        lambda: optimizers.DAdaptSGD(momentum=0.9, weight_decay=0.001, growth_rate=1.1),
    ),
    "DoG": (lambda p: D.DoG(p), lambda: optimizers.DoG()),
    "DoG[options]": (
        lambda p: D.DoG(p, weight_decay=0.01, reps_rel=1e-4),
        lambda: optimizers.DoG(weight_decay=0.01, reps_rel=1e-4),
    ),
    "DoG[initial_eta]": (lambda p: D.DoG(p, init_eta=1e-3), lambda: optimizers.DoG(initial_eta=1e-3)),
    "LDoG": (lambda p: D.LDoG(p), lambda: optimizers.LDoG()),
    "LDoG[options]": (
        lambda p: D.LDoG(p, weight_decay=0.01, init_eta=1e-4),
        lambda: optimizers.LDoG(weight_decay=0.01, initial_eta=1e-4),
    ),
}
DEFAULTS = ["Prodigy", "DAdaptAdam", "DAdaptSGD", "DoG", "LDoG"]


def _params(dtype):
    out = []
    for name in CASES if dtype == "float64" else DEFAULTS:
        for kind in ("mlp", "cnn"):
            # the defaults on the MLP in the fast tier; every option and the CNN in the slow tier
            fast = name in DEFAULTS and kind == "mlp"
            out.append(pytest.param(name, kind, id=f"{name}-{kind}", marks=() if fast else pytest.mark.slow))
    return out


@pytest.mark.parametrize(("name", "kind"), _params("float64"))
def test_float64_trajectory_equals_the_reference(name, kind):
    if keras.backend.backend() == "jax":
        pytest.skip("float64 needs jax_enable_x64")
    assert relative_error(kind, "float64", *CASES[name]) <= 1e-10


@pytest.mark.parametrize(("name", "kind"), _params("float32"))
def test_float32_trajectory_equals_the_reference(name, kind):
    assert relative_error(kind, "float32", *CASES[name]) <= 1e-5
