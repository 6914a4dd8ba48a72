"""Step-by-step NumPy references of the optimizers' update rules, from the papers."""

import math

import numpy as np


def quadratic_grad(w, a):
    """Gradient of f(w) = 0.5 * sum(a * w**2)."""
    return a * w


def radam(w, a, steps, lr, b1=0.9, b2=0.999, eps=1e-7, threshold=5.0):
    w = w.astype("float64").copy()
    m = np.zeros_like(w)
    v = np.zeros_like(w)
    rho_inf = 2 / (1 - b2) - 1
    path = []
    for t in range(1, steps + 1):
        g = quadratic_grad(w, a)
        m = b1 * m + (1 - b1) * g
        v = b2 * v + (1 - b2) * g * g
        m_hat = m / (1 - b1**t)
        rho = rho_inf - 2 * t * b2**t / (1 - b2**t)
        if rho > threshold:
            r = math.sqrt((rho - 4) * (rho - 2) * rho_inf / ((rho_inf - 4) * (rho_inf - 2) * rho))
            w = w - lr * m_hat * r * math.sqrt(1 - b2**t) / (np.sqrt(v) + eps)
        else:
            w = w - lr * m_hat
        path.append(w.copy())
    return np.array(path)


def adabelief(w, a, steps, lr, b1=0.9, b2=0.999, eps=1e-16):
    w = w.astype("float64").copy()
    m = np.zeros_like(w)
    s = np.zeros_like(w)
    path = []
    for t in range(1, steps + 1):
        g = quadratic_grad(w, a)
        m = b1 * m + (1 - b1) * g
        s = b2 * s + (1 - b2) * (g - m) ** 2 + eps
        m_hat = m / (1 - b1**t)
        s_hat = s / (1 - b2**t)
        w = w - lr * m_hat / (np.sqrt(s_hat) + eps)
        path.append(w.copy())
    return np.array(path)


def lars(weights, grad_fn, steps, lr, momentum=0.9, wd=0.0, eta=0.001, eps=0.0, nesterov=False):
    """weights: list of arrays; rank <= 1 arrays are excluded from adaptation."""
    weights = [w.astype("float64").copy() for w in weights]
    velocities = [np.zeros_like(w) for w in weights]
    path = []
    for _ in range(steps):
        grads = grad_fn(weights)
        for i, (w, g) in enumerate(zip(weights, grads)):
            if w.ndim <= 1:
                update, scaled = g, lr
            else:
                wn, gn = np.linalg.norm(w), np.linalg.norm(g)
                trust = eta * wn / (gn + wd * wn + eps) if wn > 0 and gn > 0 else 1.0
                update, scaled = g + wd * w, lr * trust
            velocities[i] = momentum * velocities[i] + scaled * update
            step = momentum * velocities[i] + scaled * update if nesterov else velocities[i]
            weights[i] = w - step
        path.append([w.copy() for w in weights])
    return path
