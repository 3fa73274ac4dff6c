"""ruff and mypy are part of the suite: the project stays clean under both."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


@pytest.mark.skipif(shutil.which("ruff") is None, reason="ruff not installed (pip install -e '.[test]')")
def test_ruff_clean():
    r = subprocess.run(["ruff", "check", "."], cwd=ROOT, capture_output=True, text=True)
    assert r.returncode == 0, r.stdout + r.stderr


def test_mypy_clean():
    pytest.importorskip("mypy")
    r = subprocess.run([sys.executable, "-m", "mypy"], cwd=ROOT, capture_output=True, text=True)
    assert r.returncode == 0, r.stdout + r.stderr


def test_readme_opens_with_the_two_commands():
    lines = (ROOT / "README.md").read_text().splitlines()
    assert lines[0] == "```bash" and lines[3] == "```"
    assert "dynamics verify" in lines[1] and "pytest" in lines[2]


def _figure_calls_without(keyword: str, root: Path) -> list[str]:
    import ast

    missing = []
    for path in sorted(root.rglob("*.py")):
        for node in ast.walk(ast.parse(path.read_text())):
            if (isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute)
                    and node.func.attr == "save_figure"
                    and keyword not in {k.arg for k in node.keywords}):
                missing.append(f"{path.relative_to(root.parent)}:{node.lineno}")
    return missing


@pytest.mark.parametrize("keyword", ["caption", "claims"])
def test_every_report_figure_says_what_to_look_at_and_which_claims_it_supports(keyword):
    assert _figure_calls_without(keyword, ROOT / "derivations") == []


def test_the_figure_check_sees_a_bare_call(tmp_path):
    """Negative control: a save_figure call without caption is reported."""
    (tmp_path / "pkg").mkdir()
    (tmp_path / "pkg" / "m.py").write_text("ctx.save_figure('x', fig, claims=('a',))\n")
    assert _figure_calls_without("caption", tmp_path / "pkg") == ["pkg/m.py:1"]


MAX_LINES = 600  # issue 16: one concept per file; a module past this holds several


def _long_files(roots: list[Path], limit: int = MAX_LINES) -> list[str]:
    out = []
    for root in roots:
        for path in sorted(root.rglob("*.py")):
            n = len(path.read_text().splitlines())
            if n > limit:
                out.append(f"{path.relative_to(root.parent)}: {n} lines")
    return out


def test_no_module_longer_than_600_lines():
    assert _long_files([ROOT / "dynamics", ROOT / "derivations"]) == []


def test_the_length_check_sees_a_long_file(tmp_path):
    """Negative control: a 601-line module is reported, a 600-line one is not."""
    (tmp_path / "pkg").mkdir()
    (tmp_path / "pkg" / "long.py").write_text("x = 1\n" * (MAX_LINES + 1))
    (tmp_path / "pkg" / "ok.py").write_text("x = 1\n" * MAX_LINES)
    assert _long_files([tmp_path / "pkg"]) == [f"pkg/long.py: {MAX_LINES + 1} lines"]
