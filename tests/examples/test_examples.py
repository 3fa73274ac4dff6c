"""Every script in ``examples/`` runs in smoke mode and writes its figure; the quickstart's
claim passes, its negative controls fail, and the docs quote it verbatim."""

from __future__ import annotations

import importlib.util
import inspect
import json
import os
import re
import sys
from collections.abc import Iterator
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest

from dynamics import registry
from dynamics.claims import check
from dynamics.cli import main as cli_main

ROOT = Path(__file__).resolve().parents[2]
EXAMPLES = sorted(p for p in (ROOT / "examples").glob("*.py") if not p.name.startswith("_"))
QUICKSTART = ROOT / "examples" / "quickstart_own_model.py"
QUICKSTART_DOC = ROOT / "docs" / "quickstart.md"


def load_example(path: Path) -> ModuleType:
    """Import an example script by path (examples/ is not a package)."""
    name = f"_dynamics_example_{path.stem}"
    spec = importlib.util.spec_from_file_location(name, path)
    assert spec is not None and spec.loader is not None, path
    mod = importlib.util.module_from_spec(spec)
    sys.modules[name] = mod  # dataclasses and pickling look modules up by name
    spec.loader.exec_module(mod)
    return mod


@pytest.fixture(scope="module", autouse=True)
def cache_dir(tmp_path_factory: pytest.TempPathFactory) -> Iterator[None]:
    """Generated code goes to a session temp dir, unless the caller chose a cache already."""
    with pytest.MonkeyPatch.context() as mp:
        if not os.environ.get("DYNAMICS_CACHE_DIR"):
            mp.setenv("DYNAMICS_CACHE_DIR", str(tmp_path_factory.mktemp("dynamics-cache")))
        yield


@pytest.fixture(scope="module")
def quickstart(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    out = tmp_path_factory.mktemp("quickstart")
    return load_example(QUICKSTART).main(smoke=True, out_dir=str(out))


# ------------------------------------------------------------------------ every example
def test_examples_exist() -> None:
    assert QUICKSTART in EXAMPLES


@pytest.mark.parametrize("path", EXAMPLES, ids=[p.stem for p in EXAMPLES])
def test_example_runs_in_smoke_mode_and_writes_its_figure(path: Path, tmp_path: Path) -> None:
    mod = load_example(path)
    params = inspect.signature(mod.main).parameters
    assert {"smoke", "out_dir"} <= set(params), f"{path.name}: main(smoke=..., out_dir=...)"
    result = mod.main(smoke=True, out_dir=str(tmp_path))
    assert isinstance(result, dict)
    pngs = list(tmp_path.rglob("*.png"))
    assert pngs, f"{path.name} wrote no PNG figure into out_dir"
    assert all(p.stat().st_size > 1000 for p in pngs)
    if "figure" in result:
        fig = Path(result["figure"])
        assert fig.is_file() and tmp_path in fig.parents


# ---------------------------------------------------------------------------- quickstart
def test_quickstart_loss_rate_claim_passes(quickstart: dict[str, Any]) -> None:
    claim = quickstart["claim"]
    assert claim.id == "quickstart.loss-rate"
    assert claim.passed, str(claim)
    assert claim.measured == pytest.approx(quickstart["slope"])
    # the rate is 1/t up to a log correction that makes the slope slightly steeper
    assert -1.15 < quickstart["slope"] < -1.0
    assert quickstart["fit"].r2 > 0.999


@pytest.mark.parametrize(
    "wrong",
    [-2.0, -0.5, -1.0],
    ids=["power-2", "power-half", "bare-1-without-log-correction"],
)
def test_quickstart_loss_rate_negative_control(quickstart: dict[str, Any], wrong: float) -> None:
    """The same measurement and tolerance reject a wrong prediction; -1 itself fails too,
    because the fit resolves the logarithmic correction -1/u."""
    claim = quickstart["claim"]
    bad = check(
        "quickstart.loss-rate.negative-control",
        f"the late log-log slope is {wrong}",
        predicted=wrong,
        measured=quickstart["slope"],
        tol=claim.tolerance,
        why=claim.why,
    )
    assert not bad.passed, str(bad)


def test_quickstart_slope_does_not_depend_on_output_density(quickstart: dict[str, Any]) -> None:
    """Smoke mode (100 points) and full mode (400 points) fit the same slope."""
    mod = load_example(QUICKSTART)
    fit, claim = mod.check_slope(
        mod.integrate(mod.build_model(), mod.Y0, t_max=mod.T_MAX, n_points=400)
    )
    assert claim.passed
    assert fit.slope == pytest.approx(quickstart["slope"], abs=2e-3)


def test_quickstart_derivation_verifies_through_the_cli(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """Registered at run time, `dynamics verify quickstart` passes and writes its outputs."""
    mod = load_example(QUICKSTART)
    monkeypatch.setattr(registry, "_RUNTIME", {})  # keep the registration local to this test
    registry.register(mod.derivation)
    assert "quickstart" in registry.names()
    code = cli_main(["verify", "quickstart", "--out", str(tmp_path), "--quick", "--quiet"])
    assert code == 0, capsys.readouterr()
    summary = json.loads((tmp_path / "quickstart" / "summary.json").read_text())
    assert summary["passed"] and summary["error"] is None
    assert [c["id"] for c in summary["claims"]] == ["quickstart.loss-rate"]
    assert (tmp_path / "quickstart" / "loss.png").is_file()
    assert (tmp_path / "quickstart" / "flow.npz").is_file()
    assert (tmp_path / "index.html").is_file()


def test_quickstart_docs_quote_the_example_verbatim() -> None:
    """Every code block marked as an excerpt in docs/quickstart.md is in the example file."""
    doc = QUICKSTART_DOC.read_text()
    source = QUICKSTART.read_text()
    marker = r"<!-- excerpt: examples/quickstart_own_model.py -->\s*```python\n(.*?)```"
    blocks = re.findall(marker, doc, flags=re.S)
    assert len(blocks) >= 4, "expected the model, fit, plot and main excerpts"
    for block in blocks:
        assert block in source, f"docs/quickstart.md excerpt not in the example:\n{block}"


# ------------------------------------------------------------ quickstart part II: saddles
SADDLES = ROOT / "examples" / "quickstart_saddles.py"


@pytest.fixture(scope="module")
def saddles(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    out = tmp_path_factory.mktemp("saddles")
    return load_example(SADDLES).main(smoke=True, out_dir=str(out))


def test_saddles_claims_pass_with_their_negative_controls_refuted(saddles: dict[str, Any]) -> None:
    s = saddles["summary"]
    assert s["error"] is None and s["passed"], s
    ids = [c["id"] for c in s["claims"]]
    assert ids == ["saddles.plateau", "saddles.escape-rate", "saddles.sgd", "saddles.stages"]
    for c in s["claims"]:
        assert c["verdict"] == "pass" and c["negative_controls"], c
        assert all(n["refuted"] for n in c["negative_controls"]), c
    assert Path(saddles["report"]).is_file() and Path(saddles["figure"]).is_file()
    assert {"loss.png", "phase.png"} <= set(s["figures"])


def test_saddles_fixed_point_predictions_match_the_closed_forms(saddles: dict[str, Any]) -> None:
    """The saddle found numerically is the one on paper: L = b2^2 (1 - rho^2) / 2, rate 2 b2 (1 - rho^2)."""
    by_id = {c["id"]: c for c in saddles["summary"]["claims"]}
    mod = load_example(SADDLES)
    rho, b2 = mod.PARAMS["rho"], mod.PARAMS["beta2"]
    assert by_id["saddles.plateau"]["predicted"] == pytest.approx(b2**2 * (1 - rho**2) / 2, rel=1e-10)
    assert by_id["saddles.escape-rate"]["predicted"] == pytest.approx(2 * b2 * (1 - rho**2), rel=1e-10)


def test_saddles_flow_claims_fail_on_a_flow_of_another_model(saddles: dict[str, Any]) -> None:
    """Negative control: the same predictions against the flow at rho = 0 are refuted."""
    mod = load_example(SADDLES)
    model = mod.build_model()
    other = mod.integrate(model, mod.START, dict(mod.PARAMS, rho=0.0), t_max=1e3, n_points=200)
    claims, _ = mod.flow_claims(other, model)
    assert [c.passed for c in claims] == [False, False]


def test_quickstart_docs_quote_the_saddles_example_verbatim() -> None:
    doc = QUICKSTART_DOC.read_text()
    source = SADDLES.read_text()
    blocks = re.findall(r"<!-- excerpt: examples/quickstart_saddles.py -->\s*```python\n(.*?)```", doc, flags=re.S)
    assert len(blocks) >= 5, "expected the model, SGD, claims, phase and verify excerpts"
    for block in blocks:
        assert block in source, f"docs/quickstart.md excerpt not in the example:\n{block}"
    assert len(source.splitlines()) < 150  # the whole loop in under 150 lines
