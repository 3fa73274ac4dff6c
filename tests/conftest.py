"""Shared fixtures: small reduced models compiled once per session."""

from __future__ import annotations

import numpy as np
import pytest
import sympy as sp

from dynamics.model import ReducedModel, RowSum
from dynamics.symbolic import softplus


def toy_model(name: str = "toy-rows") -> ReducedModel:
    """Three coordinates, two parameters, a row table, a metric and two groups."""
    a, b, c = sp.symbols("a b c", real=True)
    s, k = sp.symbols("s k", positive=True)
    x, y, w = sp.symbols("x y w", real=True)
    table = np.array([[1.0, 1.0, 0.5], [2.0, -1.0, 0.25], [-1.0, 1.0, 1.0], [0.5, -1.0, 0.3]])
    rows = RowSum(w * softplus(-y * (a * b * x + c)), (x, y, w), table, label="data")
    return ReducedModel.from_loss(
        name, [a, b, c], [s, k], [(s - a * b) ** 2 / 2 + k * c**2 * a**2, rows],
        metric=[1, 2, s], groups=["u", "u", "attn"],
        observables={"ab": a * b, "data_loss": rows}, defaults={"s": 2.0, "k": 0.1},
    )


def rhs_and_jacobian(cm, y, p):
    """The compiled right-hand side and Jacobian of ``cm`` at state ``y``, packed params ``p``."""
    out = np.empty(cm.n_state)
    cm.rhs(0.0, y, p, cm.data, cm.bounds, out)
    J = np.empty((cm.n_state, cm.n_state))
    cm.jac(0.0, y, p, cm.data, cm.bounds, J)
    return out, J


@pytest.fixture(scope="session")
def toy() -> ReducedModel:
    return toy_model()


@pytest.fixture(scope="session")
def toy_numba(toy):
    return toy.compile("numba")


@pytest.fixture(scope="session")
def toy_numpy(toy):
    return toy.compile("numpy")


def toy_chain_model(name: str = "toy-chain") -> ReducedModel:
    """The toy model with its row term written through two intermediates (chain-rule codegen).

    ``z0 = a*b*x + c`` (nonlinear in the state) and ``z1 = a*x``; the term also uses ``c``
    directly, so every path of the chain rule is exercised.
    """
    a, b, c = sp.symbols("a b c", real=True)
    s, k = sp.symbols("s k", positive=True)
    x, y, w = sp.symbols("x y w", real=True)
    z0, z1 = sp.symbols("z0 z1", real=True)
    table = np.array([[1.0, 1.0, 0.5], [2.0, -1.0, 0.25], [-1.0, 1.0, 1.0], [0.5, -1.0, 0.3]])
    rows = RowSum(w * softplus(-y * z0) + w * z1**2 * c / 4 + k * sp.exp(z1) * c, (x, y, w), table, label="data",
                  intermediates=((z0, a * b * x + c), (z1, a * x)))
    return ReducedModel.from_loss(
        name, [a, b, c], [s, k], [(s - a * b) ** 2 / 2 + k * c**2 * a**2, rows],
        metric=[1, 2, s], groups=["u", "u", "attn"],
        observables={"ab": a * b, "data_loss": rows}, defaults={"s": 2.0, "k": 0.1},
    )


@pytest.fixture(scope="session")
def toy_chain() -> ReducedModel:
    return toy_chain_model()
