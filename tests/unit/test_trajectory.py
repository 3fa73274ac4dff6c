"""Trajectory: validation, access, and save/load round trips (npz + json)."""

from __future__ import annotations

import json

import numpy as np
import pytest

from dynamics.schedule import Schedule
from dynamics.trajectory import Trajectory, flow_time


def _tr():
    t = np.array([0.0, 0.5, 1.0])
    return Trajectory(t, np.column_stack([t, 2 * t]), ("a", "b"), {"loss": 1 - t / 2, "m": t**2},
                      {"nfev": 3}, {"model": "x", "params": {"s": 1.0}})


def test_save_load_round_trip(tmp_path):
    tr = _tr()
    npz, js = tr.save(tmp_path / "run")
    assert npz.name == "run.npz" and js.name == "run.json"
    with np.load(npz) as d:
        assert {"t", "loss", "y"} <= set(d.files)
    doc = json.loads(js.read_text())
    assert doc["names"] == ["a", "b"] and "numpy" in doc["versions"]
    back = Trajectory.load(tmp_path / "run.npz")
    np.testing.assert_array_equal(back.y, tr.y)
    np.testing.assert_array_equal(back["m"], tr["m"])
    assert back.names == tr.names and back.stats == tr.stats and back.meta == tr.meta


def test_access_and_errors():
    tr = _tr()
    assert tr["b"][-1] == 2.0 and tr.loss[0] == 1.0
    assert tr.at(0.25, "a") == pytest.approx(0.25)
    with pytest.raises(KeyError, match="unknown coordinate"):
        tr["zz"]
    with pytest.raises(ValueError, match="shape"):
        Trajectory(np.zeros(3), np.zeros((2, 1)), ("a",), {"loss": np.zeros(3)})
    with pytest.raises(ValueError, match="loss"):
        Trajectory(np.zeros(2), np.zeros((2, 1)), ("a",), {})
    with pytest.raises(ValueError, match="non-decreasing"):
        Trajectory(np.array([1.0, 0.0]), np.zeros((2, 1)), ("a",), {"loss": np.zeros(2)})


def test_load_missing_file_is_clear(tmp_path):
    with pytest.raises(FileNotFoundError, match="no trajectory"):
        Trajectory.load(tmp_path / "nothing")


def test_flow_time():
    np.testing.assert_array_equal(flow_time(np.arange(4), 0.5), [0, 0.5, 1.0, 1.5])
    with pytest.raises(ValueError, match="learning rate"):
        flow_time(3, 0.0)


def test_schedule_pieces():
    s = Schedule.switch(2.0, before={"attn": 2.0})
    assert s.pieces(0.0, 5.0) == [(0.0, 2.0, {"attn": 2.0}), (2.0, 5.0, {})]
    assert s.factor_vector(["attn", "u"], 1.0) == [2.0, 1.0]
    with pytest.raises(ValueError, match="increasing"):
        Schedule((2.0, 1.0), ({}, {}, {}))
    with pytest.raises(ValueError, match="factor"):
        Schedule.switch(1.0, before={"a": float("nan")})


def test_save_arrays_round_trip(tmp_path) -> None:  # type: ignore[no-untyped-def]
    from dynamics.trajectory import load_arrays, save_arrays

    arrays = {"acc": np.arange(6.0).reshape(3, 2), "steps": np.array([0, 5, 10])}
    npz, js = save_arrays(tmp_path / "run", arrays, {"lr": 1e-3, "shape": (3, 2)})
    assert npz.name == "run.npz" and js.name == "run.json"
    got, doc = load_arrays(tmp_path / "run.npz")
    np.testing.assert_array_equal(got["acc"], arrays["acc"])
    np.testing.assert_array_equal(got["steps"], arrays["steps"])
    assert doc["meta"] == {"lr": 1e-3, "shape": [3, 2]} and "numpy" in doc["versions"]
    assert not list(tmp_path.glob("*.tmp*"))
    with pytest.raises(FileNotFoundError, match="no saved result"):
        load_arrays(tmp_path / "missing")
    with pytest.raises(ValueError, match="dtype object"):
        save_arrays(tmp_path / "bad", {"x": np.array([{}, 1], dtype=object)})


def test_save_writes_format_version_and_old_files_still_load(tmp_path) -> None:  # type: ignore[no-untyped-def]
    from dynamics.trajectory import TRAJECTORY_FORMAT

    tr = _tr()
    _, js = tr.save(tmp_path / "run")
    doc = json.loads(js.read_text())
    assert doc["format"] == TRAJECTORY_FORMAT == "dynamics.Trajectory/1"
    del doc["format"]  # a file from before the tag existed
    js.write_text(json.dumps(doc))
    back = Trajectory.load(tmp_path / "run")
    np.testing.assert_array_equal(back.y, tr.y)


def test_interrupted_save_keeps_the_old_file_and_no_temporary(tmp_path, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    tr = _tr()
    npz, _ = tr.save(tmp_path / "run")
    before = npz.read_bytes()

    def boom(fh, **arrays):  # type: ignore[no-untyped-def]
        fh.write(b"PK\x03\x04 partial")
        raise KeyboardInterrupt

    monkeypatch.setattr(np, "savez", boom)
    with pytest.raises(KeyboardInterrupt):
        tr.save(tmp_path / "run")
    assert npz.read_bytes() == before  # the complete old file, not a partial one
    assert sorted(p.name for p in tmp_path.iterdir()) == ["run.json", "run.npz"]
