"""Reference learning rates, step by step in plain Python, from the published formulas.

`cyclic_lr` and `one_cycle_lr` follow the structure of PyTorch's `CyclicLR` and
`OneCycleLR` (phase tables, `step_ratio`, `scale_fn`) so that they are an
independent implementation of what kerasboost computes in `keras.ops`.
`torch_lrs` runs PyTorch itself when it is installed.
"""

import math

import pytest


def cyclic_lr(step, base_lr, max_lr, step_size, mode="triangular", gamma=1.0):
    total_size = 2.0 * step_size
    step_ratio = step_size / total_size
    cycle = math.floor(1 + step / total_size)
    x = 1.0 + step / total_size - cycle
    scale_factor = x / step_ratio if x <= step_ratio else (x - 1) / (step_ratio - 1)
    base_height = (max_lr - base_lr) * scale_factor
    if mode == "triangular":
        scale = 1.0
    elif mode == "triangular2":
        scale = 1 / (2.0 ** (cycle - 1))
    else:
        scale = gamma**step
    return base_lr + base_height * scale


def one_cycle_lr(
    step,
    max_lr,
    total_steps,
    pct_start=0.3,
    anneal_strategy="cos",
    div_factor=25.0,
    final_div_factor=1e4,
    three_phase=False,
):
    initial = max_lr / div_factor
    minimum = initial / final_div_factor
    if three_phase:
        phases = [
            (float(pct_start * total_steps) - 1, initial, max_lr),
            (float(2 * pct_start * total_steps) - 2, max_lr, initial),
            (total_steps - 1, initial, minimum),
        ]
    else:
        phases = [
            (float(pct_start * total_steps) - 1, initial, max_lr),
            (total_steps - 1, max_lr, minimum),
        ]

    def anneal(start, end, pct):
        if anneal_strategy == "cos":
            return end + (start - end) / 2.0 * (math.cos(math.pi * pct) + 1)
        return (end - start) * pct + start

    start_step = 0.0
    for i, (end_step, start_lr, end_lr) in enumerate(phases):
        if step <= end_step or i == len(phases) - 1:
            return anneal(start_lr, end_lr, (step - start_step) / (end_step - start_step))
        start_step = end_step


def torch_lrs(make_scheduler, base_lr, steps):
    """The learning rate PyTorch uses at each of `steps` optimizer steps."""
    torch = pytest.importorskip("torch")
    param = torch.nn.Parameter(torch.zeros(1))
    optimizer = torch.optim.SGD([param], lr=base_lr)
    scheduler = make_scheduler(torch, optimizer)
    values = []
    for _ in range(steps):
        values.append(optimizer.param_groups[0]["lr"])
        optimizer.step()
        scheduler.step()
    return values
