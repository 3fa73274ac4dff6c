"""``dynamics bench``: the flat keys, the JSON file, null-with-reason, usage errors.

No speed is asserted here (speed belongs to the benchmarks). The fast tests replace the
timed per-problem work by a stub; one test runs the real ``--quick`` benchmark on 2 points
(a few seconds with a warm compile cache; the first run compiles the batch kernels).
"""

from __future__ import annotations

import json
import math

import pytest

from dynamics import bench
from dynamics.cli import main


def _fake_problem(name, n_points, baseline_points, heyoka_points, repeats, threads, progress):
    t1 = 0.01 * n_points
    out = {
        "description": name,
        "n_points": n_points,
        "all_ok": True,
        "batch_1thread_s": t1,
        "batch_parallel_s": t1 / 1.6 if threads > 1 else None,
        "threads": threads,
        "solves_per_s_1thread": n_points / t1,
        "solves_per_s_parallel": 1.6 * n_points / t1 if threads > 1 else None,
        "baseline_solves_per_s": 10.0,
        "speedup_vs_solve_ivp": 10.0,
        "mean_steps": 50.0,
        "final_rel_diff_vs_baseline": 1e-9,
        "same_answer_ok": True,
        "ratio_vs_heyoka": None,
    }
    why = bench.heyoka_unavailable()
    if why is None:
        out.update(heyoka_solves_per_s=50.0, ratio_vs_heyoka=2.0)
    else:
        out["heyoka_reason"] = why
    return out


def _fake_first_calls(name="logistic", threads=2):
    one = {"compile_s": 1.0, "first_call_s": 10.0, "first_call_threads_s": 0.01}
    return {"problem": name, "threads": threads, "cold": one, "warm": dict(one, first_call_s=0.5)}


@pytest.fixture
def stubbed(monkeypatch):
    monkeypatch.setattr(bench.throughput, "_run_problem", _fake_problem)
    monkeypatch.setattr(bench.throughput, "first_calls", _fake_first_calls)


def test_run_returns_the_flat_keys_and_load(stubbed):
    lines: list[str] = []
    r = bench.run(3, quick=True, progress=lines.append)
    for k in bench.KEYS:
        assert k in r
    assert r["speedup_vs_solve_ivp_nonstiff"] == 10.0
    assert "loadavg_1min_before" in r and "loadavg_1min_after" in r
    assert set(r["problems"]) == set(bench.SOLVE_PROBLEMS)
    text = "\n".join(lines)
    assert "speedup_vs_solve_ivp_stiff = 10" in text and "load average" in text


def test_heyoka_missing_gives_null_with_reason(stubbed, monkeypatch, tmp_path):
    monkeypatch.setattr(bench, "heyoka_unavailable", lambda: "heyoka is not importable (test)")
    monkeypatch.setattr(bench.throughput, "heyoka_unavailable", bench.heyoka_unavailable)
    f = tmp_path / "b.json"
    assert main(["bench", "--quick", "--points", "2", "--json", str(f)]) == 0
    d = json.loads(f.read_text())
    assert d["ratio_vs_heyoka_nonstiff"] is None and d["ratio_vs_heyoka_stiff"] is None
    assert "not importable" in d["heyoka_reason"]


def test_one_cpu_gives_null_parallel_efficiency_with_reason(stubbed, monkeypatch):
    monkeypatch.setattr(bench.throughput.os, "cpu_count", lambda: 1)
    r = bench.run(2, quick=True, progress=None)
    assert r["parallel_efficiency"] is None and "one CPU" in r["parallel_reason"]


@pytest.mark.parametrize("bad", [0, -3, 2.5, True, "8"])
def test_run_rejects_bad_points(bad):
    with pytest.raises(ValueError, match="n_points"):
        bench.run(bad, progress=None)


@pytest.mark.parametrize(
    "argv, msg",
    [
        (["bench", "--points", "0"], "--points must be >= 1"),
        (["bench", "--points", "x"], "invalid int value"),
        (["bench", "--bogus"], "unrecognized arguments"),
    ],
)
def test_cli_usage_errors_exit_2_with_one_line(argv, msg, capsys):
    try:
        code = main(argv)
    except SystemExit as exc:
        code = exc.code
    assert code == 2
    err = capsys.readouterr().err.strip()
    assert msg in err and len(err.splitlines()) == 1


def test_cli_json_in_missing_directory_is_a_usage_error(tmp_path, capsys):
    assert main(["bench", "--quick", "--json", str(tmp_path / "no" / "b.json")]) == 2
    assert "does not exist" in capsys.readouterr().err


def test_cli_json_is_a_directory_is_a_usage_error(tmp_path, capsys):
    assert main(["bench", "--quick", "--json", str(tmp_path)]) == 2
    assert "is a directory" in capsys.readouterr().err


@pytest.mark.slow
def test_real_quick_bench_writes_all_five_keys(tmp_path, capsys):
    f = tmp_path / "bench.json"
    assert main(["bench", "--quick", "--points", "2", "--json", str(f)]) == 0
    d = json.loads(f.read_text())
    for k in bench.KEYS:
        assert k in d
    for k in ("speedup_vs_solve_ivp_nonstiff", "speedup_vs_solve_ivp_stiff", "parallel_efficiency"):
        assert math.isfinite(d[k]) and d[k] > 0
    for k in ("ratio_vs_heyoka_nonstiff", "ratio_vs_heyoka_stiff"):
        if d[k] is None:
            assert d["heyoka_reason"]
        else:
            assert math.isfinite(d[k]) and d[k] > 0
    assert d["same_answer_ok"] is True
    assert d["loadavg_1min_before"] is None or d["loadavg_1min_before"] >= 0
    out = capsys.readouterr().out
    assert "speedup_vs_solve_ivp_nonstiff = " in out and f"wrote {f}" in out


@pytest.mark.parametrize(("argv", "msg"), [(["{tmp}"], "not a checkout of this project"),
                                           (["{root}", "--rounds", "0"], "--rounds must be at least 1")])
def test_bench_trees_usage_errors(argv, msg, tmp_path, capsys):
    """benchmarks/bench_trees.py refuses what it cannot compare, before any work."""
    import importlib.util
    from pathlib import Path

    root = Path(__file__).resolve().parents[2]
    spec = importlib.util.spec_from_file_location("bench_trees", root / "benchmarks" / "bench_trees.py")
    assert spec and spec.loader
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    with pytest.raises(SystemExit) as e:
        mod.main([a.format(tmp=tmp_path, root=root) for a in argv])
    assert e.value.code == 2
    assert msg in capsys.readouterr().err
