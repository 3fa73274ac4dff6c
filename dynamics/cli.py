"""The ``dynamics`` command line.

::

    dynamics list                                  registered models, one line each
    dynamics show NAME [--latex]                   state, parameters, derived equations
    dynamics verify [NAME ...] [--out DIR] [--quick] [--seed N] [--set FIELD=VALUE ...]
    dynamics phase NAME --x PARAM=LO:HI:N[:log] [--y ...] [--set PARAM=VALUE ...]
                   [--classify WHAT] [--t-max T] [--out DIR] [--scheduler ADDRESS]
                   [--workers N] [--refine K] [--schedule SPEC]
    dynamics bench [--json FILE] [--points N] [--quick]
                                                   batch-throughput benchmark (ratios)
    dynamics new NAME [--dir PARENT]               a new derivation, in the project's shape

Wherever a model NAME is taken (``show``, ``verify``, ``phase``), a file also is:
``path/to/file.py`` (its module-level ``derivation``, or every ``Derivation`` it defines),
``file.py:NAME`` (one of them) or a folder holding ``verify.py`` (what ``new`` writes).

``verify`` exits 0 when every claim is a pass or a registered finding, 1 when any claim
fails (a stale finding included) or a model errors, and 2 on bad usage (unknown model, bad
option), always with one clear line. Its closing line reads ``N pass, M findings, K fail``.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, NoReturn

if TYPE_CHECKING:
    from dynamics import registry

__all__ = ["main"]


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> NoReturn:
        print(f"{self.prog}: error: {message}", file=sys.stderr)
        raise SystemExit(2)


def _usage_error(msg: str) -> int:
    print(f"dynamics: error: {msg}", file=sys.stderr)
    return 2


def _parser() -> _Parser:
    p = _Parser(prog="dynamics", description="Reduced learning dynamics of small transformers: "
                "derive, integrate, train, verify.")
    sub = p.add_subparsers(dest="cmd", metavar="COMMAND", parser_class=_Parser)
    sub.add_parser("list", help="list registered models")
    s = sub.add_parser("show", help="print a model's state, parameters and derived equations")
    s.add_argument("name")
    s.add_argument("--latex", action="store_true", help="print the equations as LaTeX")
    v = sub.add_parser("verify", help="run the verification of models and write a report")
    v.add_argument("names", nargs="*", metavar="NAME", help="models to verify (default: all)")
    v.add_argument("--out", default="dynamics-report", help="output directory (default: %(default)s)")
    v.add_argument("--quick", action="store_true", help="smaller settings, same claims")
    v.add_argument("--seed", type=int, default=0, help="base random seed (default: %(default)s)")
    v.add_argument("--quiet", action="store_true", help="no progress lines")
    v.add_argument("--set", action="append", default=[], metavar="FIELD=VALUE",
                   help="override a setting of the named model(s), e.g. --set lam=4 (repeatable)")
    ph = sub.add_parser("phase", help="phase diagram: sweep 1-2 parameters, classify trajectories")
    ph.add_argument("name")
    ph.add_argument("--x", required=True, metavar="PARAM=LO:HI:N[:log]",
                    help="first swept parameter")
    ph.add_argument("--y", metavar="PARAM=LO:HI:N[:log]",
                    help="second swept parameter (2-D diagram)")
    ph.add_argument("--set", action="append", default=[], metavar="PARAM=VALUE",
                    help="fix a parameter or an initial coordinate (repeatable)")
    ph.add_argument("--classify", default="learnable", metavar="WHAT",
                    help="stage | stage:OBS1,OBS2[,...][:FRACTION] | slope | learnable[:FRACTION] | "
                    "order:OBS1,OBS2[,...][:LEVEL] "
                    "(default: %(default)s)")
    ph.add_argument("--t-max", type=float, default=1000.0,
                    help="flow time of each solve (default: %(default)s)")
    ph.add_argument("--out", default="dynamics-phase",
                    help="output directory (default: %(default)s)")
    ph.add_argument("--schedule", metavar="SPEC",
                    help="learning-rate factors per group, piecewise in flow time: "
                    "'GROUP=F[,GROUP=F]@T1 GROUP=F...@T2 ...' (e.g. 'attn=2@10')")
    ph.add_argument("--scheduler", metavar="ADDRESS",
                    help="Dask scheduler address (default: local processes)")
    ph.add_argument("--workers", type=int, help="local worker processes (default: up to 2)")
    ph.add_argument("--refine", type=int, default=0, metavar="K",
                    help="rounds of boundary refinement")
    ph.add_argument("--solver", choices=("auto", "batch", "integrate"), default="auto",
                    help="batch: the compiled batch solver (compiles a kernel per model once); "
                    "integrate: scipy per point; auto: batch when available (default)")
    ph.add_argument("--quiet", action="store_true", help="no progress bar")
    n = sub.add_parser("new", help="write a new derivation (reduced, closed_forms, data, direct, "
                       "claims, findings, verify, a test) that verifies green at once")
    n.add_argument("name", help="registry name: a letter, then letters, digits, '-' or '_'")
    n.add_argument("--dir", default=".", help="folder to create it in (default: %(default)s)")
    b = sub.add_parser("bench", help="time the batch integrator against solve_ivp and heyoka")
    b.add_argument("--json", metavar="FILE", help="also write the result to FILE")
    b.add_argument("--points", type=int, default=None, metavar="N",
                   help="parameter points per problem (default: 256, or 32 with --quick)")
    b.add_argument("--quick", action="store_true",
                   help="fewer points, one repeat, a short baseline (well under a minute)")
    return p


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the ``dynamics`` console script; returns the exit code.

    Ctrl-C outside the commands' own handling (e.g. while the libraries are still being
    imported) prints one line and exits 130, never a traceback.
    """
    try:
        return _main(argv)
    except KeyboardInterrupt:
        print("dynamics: interrupted", file=sys.stderr)
        return 130


def _main(argv: Sequence[str] | None) -> int:
    args = _parser().parse_args(argv)
    from dynamics import registry

    if args.cmd is None:
        _parser().print_help()
        return 2
    if args.cmd == "list":
        for name in registry.names():
            try:
                d = registry.get(name)
                print(f"{name:24s} {d.title}")
            except registry.DerivationLoadError as exc:  # a broken plugin must not hide the others
                print(f"{name:24s} (failed to load: entry point {exc.target!r} {exc.problem})")
            except Exception as exc:
                print(f"{name:24s} (failed to load: {type(exc).__name__}: {exc})")
        return 0
    if args.cmd == "show":
        try:
            d = _derivations(args.name)[0]
        except (registry.UnknownModelError, registry.DerivationFileError) as exc:
            return _usage_error(str(exc))
        except registry.DerivationLoadError as exc:
            print(f"dynamics: error: {exc}", file=sys.stderr)
            return 1
        try:
            text = d.model().describe(latex=args.latex)
        except Exception as exc:  # a broken model builder: one line, not a traceback
            print(f"dynamics: error: model {args.name!r} cannot be built: {type(exc).__name__}: {exc}",
                  file=sys.stderr)
            return 1
        print(text)
        return 0
    if args.cmd == "verify":
        return _verify(args)
    if args.cmd == "phase":
        return _phase(args)
    if args.cmd == "bench":
        return _bench(args)
    if args.cmd == "new":
        return _new(args)
    return 2  # pragma: no cover


def _derivations(target: str) -> tuple[registry.Derivation, ...]:
    """The derivations a command-line model argument names: a registered name, or a file
    (``FILE.py``, ``FILE.py:NAME``, a folder with ``verify.py``) loaded and registered."""
    from dynamics import registry

    if target not in registry.names() and registry.is_file_target(target):
        return registry.load_file(target)
    return (registry.get(target),)


def _new(args: argparse.Namespace) -> int:
    from dynamics.scaffold import write_project

    try:
        path = write_project(args.name, args.dir)
    except ValueError as exc:
        return _usage_error(str(exc))
    except OSError as exc:
        return _usage_error(f"cannot write into {args.dir}: {exc.strerror or exc}")
    print(f"wrote {path}/ (reduced, closed_forms, data, direct, claims, findings, verify, "
          f"test_{path.name}.py)")
    print(f"next: dynamics verify {path}/   and   python -m pytest {path}/")
    return 0


def _verify(args: argparse.Namespace) -> int:
    from dynamics import registry
    from dynamics.report import write_index
    from dynamics.verify import run_verify

    names = list(dict.fromkeys(args.names)) or registry.names()
    if not names:
        return _usage_error("no models are registered (is the package installed?)")
    overrides: dict[str, str] = {}
    for item in args.set:
        key, sep, value = item.partition("=")
        if not sep or not key.strip():
            return _usage_error(f"--set expects FIELD=VALUE, got {item!r}")
        overrides[key.strip()] = value.strip()
    if overrides and not args.names:
        return _usage_error("--set needs the model name(s) it applies to")
    from dynamics.verify import output_dir_problem, record_error

    # a model whose plugin fails to load is that model's error, not the end of the run
    derivs: list[registry.Derivation | registry.DerivationLoadError] = []
    settings = {}
    for n in names:
        try:
            found = _derivations(n)
            for d in found:
                settings[d.name] = d.make_settings(overrides)
        except (registry.UnknownModelError, registry.SettingsError,
                registry.DerivationFileError) as exc:
            return _usage_error(str(exc))
        except registry.DerivationLoadError as exc:
            derivs.append(exc)
            continue
        derivs.extend(d for d in found if d not in derivs)
    # every destination is checked before any work starts: OUT itself and each OUT/NAME
    out = Path(args.out)
    for dest in [out] + [out / d.name for d in derivs]:
        problem = output_dir_problem(dest)
        if problem:
            return _usage_error(problem)
    from tqdm import tqdm

    summaries = []
    bar = tqdm(derivs, desc="verify", unit="model", disable=args.quiet, file=sys.stderr)
    for d in bar:
        bar.set_postfix_str(d.name)
        if isinstance(d, registry.DerivationLoadError):
            if not args.quiet:
                print(f"[{d.name}] ERROR {d}", file=sys.stderr, flush=True)
            summaries.append(record_error(d.name, out, str(d)))
            continue
        summaries.append(run_verify(d, out, quick=args.quick, seed=args.seed, verbose=not args.quiet,
                                    settings=settings[d.name]))
    # the index covers every model in OUT (earlier runs of other models included)
    from dynamics.report import load_summaries

    index = write_index(out, load_summaries(out))
    counts = {"pass": 0, "finding": 0, "fail": 0}
    for s in summaries:
        for c in s["claims"]:
            counts[c["verdict"]] += 1
            if c["verdict"] == "finding":
                print(f"FINDING {c['id']}: {c['finding_parts']['summary']}")
            elif c["verdict"] == "fail":
                why = (f"stale finding, the claim now holds: {c['finding_parts']['summary']}"
                       if c.get("stale_finding") else
                       f"predicted {_short(c['predicted'])}, measured {_short(c['measured'])}")
                print(f"FAIL    {c['id']}: {why}")
                if c.get("statement"):  # what was compared, so the line explains itself
                    print(f"        {c['statement']}")
        if s.get("error"):
            print(f"ERROR   {s['name']}: {s['error']}")
    errors = [s["name"] for s in summaries if s.get("error")]
    print(f"{counts['pass']} pass, {counts['finding']} findings, {counts['fail']} fail"
          + (f", {len(errors)} model error(s) ({', '.join(errors)})" if errors else "")
          + f" in {len(summaries)} model(s); report: {index}")
    return 1 if counts["fail"] or any(not s["passed"] for s in summaries) else 0


def _short(x: object) -> str:
    text = str(x)
    return text if len(text) <= 60 else text[:57] + "..."


def _phase(args: argparse.Namespace) -> int:
    """``dynamics phase``. Ctrl-C (exit 130) and SIGTERM (exit 143) save the points done so
    far and stop; a second sweep into the same ``--out`` is refused (exit 2)."""
    import math
    import signal
    import threading

    out = Path(args.out)
    terminated: list[int] = []

    def on_term(signum: int, frame: object) -> None:
        terminated.append(signum)
        raise KeyboardInterrupt  # saved and stopped like Ctrl-C

    def run() -> int:
        from dynamics import registry
        from dynamics.phase import POINT_DONE, Axis, AxisError, sweep

        try:
            found = _derivations(args.name)
        except (registry.UnknownModelError, registry.DerivationFileError) as exc:
            return _usage_error(str(exc))
        except registry.DerivationLoadError as exc:  # a broken plugin: one line, not a traceback
            print(f"dynamics: error: {exc}", file=sys.stderr)
            return 1
        if len(found) > 1:
            return _usage_error(f"{args.name} defines {len(found)} derivations "
                                f"({', '.join(d.name for d in found)}); choose one with "
                                f"{args.name.rstrip('/')}:NAME")
        fixed: dict[str, float] = {}
        for item in args.set:
            key, sep, value = item.partition("=")
            try:
                if not sep or not key.strip():
                    raise ValueError
                fixed[key.strip()] = float(value)
                if not math.isfinite(fixed[key.strip()]):
                    raise ValueError
            except ValueError:
                return _usage_error(f"--set expects PARAM=NUMBER, got {item!r}")
        if args.workers is not None and args.workers < 1:
            return _usage_error(f"--workers must be >= 1, got {args.workers}")
        if args.refine < 0:
            return _usage_error(f"--refine must be >= 0, got {args.refine}")
        if not (math.isfinite(args.t_max) and args.t_max > 0):
            return _usage_error(f"--t-max must be positive and finite, got {args.t_max}")
        schedule = None
        if args.schedule is not None:
            from dynamics.schedule import Schedule

            try:
                schedule = Schedule.parse(args.schedule)
            except ValueError as exc:
                return _usage_error(f"--schedule: {exc}")
        try:
            xa = Axis.parse(args.x)
            ya = Axis.parse(args.y) if args.y else None
        except AxisError as exc:
            return _usage_error(str(exc))
        from dynamics.verify import output_dir_problem

        problem = output_dir_problem(out)
        if problem:
            return _usage_error(problem)
        # a registered name goes to the workers as is; a file's model goes as the object
        # (workers cannot see this process's registrations), with its default start
        spec, y0 = args.name, None
        if args.name not in registry.names() or registry.get(args.name) is not found[0]:
            try:
                spec = found[0].model().compile()
                if found[0].initial_state is not None:
                    y0 = found[0].initial_state(spec)
            except Exception as exc:
                print(f"dynamics: error: model {found[0].name!r} cannot be built: "
                      f"{type(exc).__name__}: {exc}", file=sys.stderr)
                return 1
        started[0] = True
        try:
            res = sweep(spec, xa, ya, fixed=fixed, y0=y0, classify=args.classify,
                        t_max=args.t_max, out=out / "phase", workers=args.workers,
                        scheduler=args.scheduler, refine=args.refine, progress=not args.quiet,
                        schedule=schedule, solver=args.solver)
        except KeyboardInterrupt:
            raise
        except ValueError as exc:  # bad parameter, classifier, a different sweep in --out,
            if terminated:  # a damaged file, or another sweep writing to --out
                raise KeyboardInterrupt from None
            return _usage_error(str(exc))
        except Exception as exc:  # e.g. no Dask scheduler at the address
            if terminated:  # workers killed by the same SIGTERM before ours was handled
                raise KeyboardInterrupt from None
            print(f"dynamics: error: {type(exc).__name__}: {exc}", file=sys.stderr)
            return 1
        try:
            res.plot(out / "phase.png")
        except OSError as exc:
            print(f"dynamics: warning: could not write {out / 'phase.png'}: {exc}",
                  file=sys.stderr)
        n_ok = int((res.status == POINT_DONE).sum())
        n_bad = res.n_points - n_ok
        counts: dict[str, int] = {}
        for c in res.classes[res.status == POINT_DONE]:
            counts[res.label(c)] = counts.get(res.label(c), 0) + 1
        summary = ", ".join(f"{k}: {v}" for k, v in sorted(counts.items()))
        print(f"{res.n_points} points ({summary}); {n_bad} failed; "
              f"{out / 'phase.npz'}, {out / 'phase.png'}")
        if n_bad:
            first = next(e for e, s in zip(res.errors, res.status, strict=True) if s != POINT_DONE)
            print(f"first failure: {first}", file=sys.stderr)
        return 0 if n_ok else 1

    started = [False]
    main_thread = threading.current_thread() is threading.main_thread()
    old = signal.signal(signal.SIGTERM, on_term) if main_thread else None
    try:
        return run()
    except KeyboardInterrupt:
        code = 143 if terminated else 130
        what = "terminated" if terminated else "interrupted"
        if started[0] and (out / "phase.npz").exists():
            print(f"dynamics: {what}; partial result in {out / 'phase.npz'} (rerun to resume)",
                  file=sys.stderr)
        else:
            print(f"dynamics: {what} before the sweep started; nothing was written",
                  file=sys.stderr)
        return code
    finally:
        if main_thread:
            signal.signal(signal.SIGTERM, old if old is not None else signal.SIG_DFL)


def _bench(args: argparse.Namespace) -> int:
    points = args.points if args.points is not None else (32 if args.quick else 256)
    if points < 1:
        return _usage_error(f"--points must be >= 1, got {points}")
    import json
    import os

    target = Path(args.json) if args.json else None
    if target is not None:
        # checked before the (minutes-long) benchmark, so its result is never lost to a bad path
        if target.is_dir():
            return _usage_error(f"--json {target} is a directory")
        if not target.parent.is_dir():
            return _usage_error(f"--json {target}: directory {target.parent} does not exist")
        probe = target.with_name(f".{target.name}.{os.getpid()}.tmp")
        try:
            probe.write_bytes(b"")
        except OSError as exc:
            return _usage_error(f"--json {target}: cannot write into {target.parent}: "
                                f"{exc.strerror or exc}")
        finally:
            try:
                probe.unlink(missing_ok=True)
            except OSError:
                pass
    from dynamics.bench import run

    result = run(points, quick=args.quick, json_path=None,
                 progress=lambda line: print(line, flush=True))
    if target is not None:
        tmp = target.with_name(f".{target.name}.{os.getpid()}.tmp")
        try:
            with open(tmp, "w") as fh:
                json.dump(result, fh, indent=2, default=float)
                fh.write("\n")
            os.replace(tmp, target)
        except (OSError, TypeError, ValueError) as exc:  # the results are printed above: say so
            why = getattr(exc, "strerror", None) or f"{type(exc).__name__}: {exc}"
            print(f"dynamics: error: cannot write --json {target}: {why} "
                  "(the results are printed above)", file=sys.stderr)
            return 1
        finally:
            tmp.unlink(missing_ok=True)
        print(f"wrote {target}", flush=True)
    return 0


if __name__ == "__main__":  # pragma: no cover
    raise SystemExit(main())
