"""The lazy top-level API: ``import dynamics as dy`` is cheap and gives the main names."""

from __future__ import annotations

import subprocess
import sys
import textwrap

import pytest

import dynamics


def _run(code: str) -> str:
    """Run ``code`` in a fresh interpreter (so ``sys.modules`` starts empty) and return its
    stdout."""
    out = subprocess.run([sys.executable, "-c", textwrap.dedent(code)], capture_output=True, text=True,
                         timeout=600)
    assert out.returncode == 0, out.stderr
    return out.stdout


def test_import_dynamics_loads_no_heavy_library_until_a_name_needs_it():
    out = _run("""
        import sys
        import dynamics as dy
        heavy = ("numba", "sympy", "scipy", "matplotlib")
        print(*[m in sys.modules for m in heavy])
        dy.Trajectory, dy.SolveOptions, dy.Crossing, dy.Claim, dy.Schedule
        print(*[m in sys.modules for m in heavy])
        dy.ReducedModel
        print("numba" in sys.modules, "sympy" in sys.modules)
    """).split("\n")
    assert out[0] == "False False False False"
    assert out[1] == "False False False False"  # the light names stay light
    assert out[2] == "False True"  # a symbolic model needs sympy, not numba


def test_integrate_through_the_top_level_name():
    out = _run("""
        import sys
        import sympy as sp
        import dynamics as dy
        a, b = sp.symbols("a b", real=True)
        model = dy.ReducedModel.from_loss("api_toy", [a, b], [], (1 - a * b) ** 2 / 2)
        traj = dy.integrate(model, {"a": 0.5, "b": 0.5}, t_max=50.0, backend="python")
        print(abs(traj.y[-1, 0] * traj.y[-1, 1] - 1) < 1e-6, "numba" in sys.modules)
        import dynamics.integrate as mod        # the module, whatever was imported first
        print(mod is dy.integrate, isinstance(dy.integrate.Event, type))
    """).split("\n")
    assert out[0] == "True True"  # the generated module is numba code, even when interpreted
    assert out[1] == "True True"


def test_integrate_is_callable_after_its_module_was_imported_first():
    out = _run("""
        from dynamics.integrate import Event  # binds dynamics.integrate to the module
        import dynamics as dy
        print(callable(dy.integrate), type(dy.integrate).__name__)
    """)
    assert out.split() == ["True", "_CallableModule"]


def test_every_name_in_all_resolves():
    for name in dynamics.__all__:
        assert getattr(dynamics, name) is not None, name
    assert set(dynamics.__all__) <= set(dir(dynamics))


@pytest.mark.parametrize("name,module", [("ReducedModel", "dynamics.model"), ("solve_batch", "dynamics.batch"),
                                         ("sweep", "dynamics.phase"), ("train", "dynamics.direct"),
                                         ("Crossing", "dynamics.options")])
def test_a_top_level_name_is_the_object_its_module_defines(name, module):
    import importlib

    assert getattr(dynamics, name) is getattr(importlib.import_module(module), name)


def test_the_module_docstring_lists_every_top_level_name():
    missing = [n for n in dynamics.__all__ if n != "__version__" and f"``{n}``" not in dynamics.__doc__]
    assert missing == []


def test_an_unknown_name_raises_attribute_error_naming_it():
    with pytest.raises(AttributeError, match="no_such_name"):
        dynamics.no_such_name  # noqa: B018
    assert not hasattr(dynamics, "also_missing")


def test_submodules_load_on_attribute_access():
    assert dynamics.options.SolveOptions is dynamics.SolveOptions
    assert "batch" in dir(dynamics)


def test_readme_own_model_example_runs_and_prints_its_rate():
    """README's "Your own model" block, through the top-level names, prints about -1.08."""
    from pathlib import Path

    text = (Path(__file__).resolve().parents[2] / "README.md").read_text()
    block = text.split("## Your own model", 1)[1].split("```python\n", 1)[1].split("```", 1)[0]
    assert "import dynamics as dy" in block
    slope = float(_run(block).strip().splitlines()[-1])
    assert slope == pytest.approx(-1.08, abs=0.005)
