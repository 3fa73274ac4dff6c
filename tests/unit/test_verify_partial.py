"""verify keeps the claims computed before a later stage raises (issue 18 item 10)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
import sympy as sp

from dynamics.claims import check
from dynamics.model import ReducedModel
from dynamics.registry import Derivation
from dynamics.verify import VerifyContext, run_verify


def _model() -> ReducedModel:
    a = sp.Symbol("a", real=True)
    return ReducedModel.from_loss("tiny", [a], [], a**2 / 2)


def _holds(i: int) -> Any:
    return check(f"c{i}", "one is one", 1.0, 1.0, tol=1e-12, why="exact arithmetic")


def _wrong() -> Any:
    return check("wrong", "one is two", 2.0, 1.0, tol=1e-12, why="exact arithmetic")


def _list_style(ctx: VerifyContext) -> list[Any]:
    claims = ctx.claims
    with ctx.stage("first"):
        claims.append(_holds(1))
        claims.append(_wrong())
    with ctx.stage("second"):
        raise RuntimeError("boom")
    return claims  # never reached


def _generator_style(ctx: VerifyContext) -> Any:
    with ctx.stage("first"):
        yield _holds(1)
        yield _holds(2)
    with ctx.stage("second"):
        raise RuntimeError("boom")


def _summary(tmp_path: Path, name: str) -> dict[str, Any]:
    return json.loads((tmp_path / name / "summary.json").read_text())


@pytest.mark.parametrize("verify, n_pass, n_fail", [(_list_style, 1, 1), (_generator_style, 2, 0)])
def test_claims_before_the_error_are_kept_with_the_error(
    tmp_path: Path, verify: Any, n_pass: int, n_fail: int
) -> None:
    s = run_verify(Derivation("partial", "raises late", _model, verify), tmp_path, verbose=False)
    on_disk = _summary(tmp_path, "partial")
    for got in (s, on_disk):
        assert got["error"] == "RuntimeError: boom (in stage 'second')"
        assert got["counts"]["pass"] == n_pass and got["counts"]["fail"] == n_fail
        assert len(got["claims"]) == n_pass + n_fail
        assert got["passed"] is False  # kept claims never hide the error
    assert "boom" in (tmp_path / "partial" / "error.txt").read_text()


def test_returned_list_and_ctx_claims_are_not_counted_twice(tmp_path: Path) -> None:
    def verify(ctx: VerifyContext) -> list[Any]:
        ctx.claims.append(_holds(1))
        return [*ctx.claims, _holds(2)]

    s = run_verify(Derivation("both", "both ways", _model, verify), tmp_path, verbose=False)
    assert [c["id"] for c in s["claims"]] == ["c1", "c2"]
    assert s["passed"] is True and s["error"] is None


def test_stale_error_file_is_cleared_by_a_clean_run(tmp_path: Path) -> None:
    def fails(ctx: VerifyContext) -> list[Any]:
        raise RuntimeError("boom")

    run_verify(Derivation("m", "raises", _model, fails), tmp_path, verbose=False)
    assert (tmp_path / "m" / "error.txt").exists()
    s = run_verify(Derivation("m", "fixed", _model, lambda ctx: [_holds(1)]), tmp_path, verbose=False)
    assert s["passed"] is True
    assert not (tmp_path / "m" / "error.txt").exists()
    # negative control: a run that raises again writes a fresh error file
    run_verify(Derivation("m", "raises", _model, fails), tmp_path, verbose=False)
    assert (tmp_path / "m" / "error.txt").exists()


def test_error_outside_any_stage_has_no_stage_name(tmp_path: Path) -> None:
    def fails(ctx: VerifyContext) -> list[Any]:
        with ctx.stage("fine"):
            ctx.claims.append(_holds(1))
        raise ValueError("late")

    s = run_verify(Derivation("m", "raises", _model, fails), tmp_path, verbose=False)
    assert s["error"] == "ValueError: late" and s["counts"]["pass"] == 1
