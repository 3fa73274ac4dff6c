"""check_grad on arrays of any memory layout (issue 18 item 11)."""

from __future__ import annotations

import numpy as np
import pytest

from dynamics.direct import check_grad


def _cubic(p: dict[str, np.ndarray]) -> tuple[float, dict[str, np.ndarray]]:
    """Loss sum(W^3 * C) with a layout-independent weight C, gradient 3 W^2 C."""
    w = p["W"]
    c = np.arange(1.0, w.size + 1.0).reshape(w.shape)
    return float((w**3 * c).sum()), {"W": 3.0 * w**2 * c}


def _layouts() -> dict[str, np.ndarray]:
    a = np.random.default_rng(3).normal(size=(4, 6))
    return {
        "transposed": a.T,  # Fortran-ordered: reshape(-1) is a copy
        "column slice": a[:, ::2],  # strided, neither C nor F contiguous
        "row slice": a[1:3, :],  # C contiguous view
        "transposed slice": a.T[::2, 1:],  # strided and transposed
    }


@pytest.mark.parametrize("name", list(_layouts()))
def test_correct_gradient_passes_for_non_contiguous_params(name: str) -> None:
    w = _layouts()[name]
    assert not w.flags.c_contiguous or name == "row slice"
    res = check_grad(_cubic, {"W": w})
    assert res.ok, res.summary()
    assert res.n_checked["W"] == w.size


@pytest.mark.parametrize("name", list(_layouts()))
def test_wrong_gradient_fails_for_non_contiguous_params(name: str) -> None:
    """Negative control: one entry off by 1% is caught, and reported at its own index."""
    w = _layouts()[name]
    _, g = _cubic({"W": w})
    bad = np.array(g["W"], copy=True)
    bad[1, 2] *= 1.01
    res = check_grad(_cubic, {"W": w}, {"W": bad})
    assert not res.ok
    assert res.worst["W"][0] == (1, 2)


def test_subset_on_transposed_array_checks_the_right_entries() -> None:
    """max_entries draws C-order indices; the analytic value compared is the one there."""
    w = _layouts()["transposed"]
    res = check_grad(_cubic, {"W": w}, max_entries=5, rng=np.random.default_rng(1))
    assert res.ok and res.n_checked["W"] == 5


def test_f_sees_the_perturbation_of_a_transposed_array() -> None:
    """The array handed to f is the one perturbed (a copy would give numeric 0)."""
    w = _layouts()["transposed"]
    seen: list[float] = []

    def f(p: dict[str, np.ndarray]) -> float:
        seen.append(float(p["W"][0, 0]))
        return float(p["W"][0, 0])

    g = np.zeros_like(w)
    g[0, 0] = 1.0
    res = check_grad(f, {"W": w}, {"W": g}, max_entries=None)
    assert res.ok
    assert max(seen) > w[0, 0] and min(seen) < w[0, 0]
