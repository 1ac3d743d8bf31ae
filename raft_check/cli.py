"""The ``check`` command: explore a bounded Raft cluster and report a verdict.

Exit codes: 0 every property holds after a complete search; 1 a property is
violated (or a reachability check was never satisfied: vacuous); 2 bad input;
3 the search was incomplete (state cap or Ctrl-C); 4 the run itself failed
(see checker/failure.py).
"""

from __future__ import annotations

import argparse
import json
import math
import os
import shlex
import signal
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from tabulate import tabulate

from checker import signals
from checker.bfs import HOLDS, INCOMPLETE, Explorer, Result
from checker.checkpoint import CheckpointError
from checker.console import (
    EXIT_BAD_INPUT,
    EXIT_HOLDS,
    EXIT_INCOMPLETE,
    BadInput,
    ProgressBar,
    _cores,
    _count,
    _minutes,
    _Parser,
    check_out_dir,
    stats_table,
    verdict,
    without_options,
)
from checker.failure import EXIT_FAILED
from checker.model import Kind, Property
from models import tweaks
from models.raft import HISTORY_PROPERTIES, HOOKS, Action, Raft, State
from raft_check import rows, selfcheck
from raft_check.report import model_label, violation_text, write_counterexample

DESCRIPTION = """\
Explore every reachable state of a bounded Raft cluster (Figure 2 of the Raft
paper, with lossy, duplicating, reordering networks and crash-restarts) and
check its safety properties.  Prints "holds" only after a complete search;
otherwise the shortest counterexample, or INCOMPLETE."""

EPILOG = """\
subcommands:
{subcommands}

examples:
  check                                   3 servers, terms up to 4
  check --servers 3 --max-term 2 --tweak vote-not-persisted
  check --invariant ElectionSafety --no-symmetry
  check --list-properties
  check defend                            every built-in tweak, with verdicts
  check view TRACE.itf.json               the trace viewer (HTML) of a saved trace
  check explore --servers 3 --max-term 1  drive a cluster by hand in the browser
  check graph --servers 2 --max-term 1 -o g.dot   the reachable state graph (see check graph --help)
  check simulate --servers 5 --max-term 5  random walks, past exhaustive reach

exit codes: 0 holds (after a complete search), 1 violation or vacuous, 2 bad input,
            3 incomplete (state cap, ^C), 4 the run itself failed (one line, and a report file).
Counterexamples go to counterexamples/<model>/ as a text table and ITF JSON."""


SUBCOMMANDS = {
    "defend": "check the unmodified protocol and every built-in tweak against their expected verdicts",
    "simulate": "random (swarm) walks past exhaustive reach; finds and shrinks violations, proves nothing",
    "view": "write the trace viewer (HTML) of a saved ITF trace",
    "explore": "drive a cluster by hand in the browser (serves the viewer on 127.0.0.1)",
    "graph": "write the reachable state graph of a small configuration (DOT or GraphML)",
    "help": "show this help, or a subcommand's (check help defend)",
}
"""The subcommands (``check NAME ...``), for the usage line, ``check help`` and dispatch: each but ``help`` is the module
``raft_check.NAME`` (``graph``: ``raft_check.graph_cmd``) with ``build_parser()`` and ``main(argv)``; a new subcommand adds a line."""

SUBCOMMAND_MODULES = {"graph": "graph_cmd"}


def _subcommand(name: str) -> Any:
    """The module that implements subcommand ``name``."""
    import importlib

    return importlib.import_module(f"raft_check.{SUBCOMMAND_MODULES.get(name, name)}")

USAGE = "\n".join(["%(prog)s [options]", *(f"       %(prog)s {name} [options]" if name != "help" else
                                             "       %(prog)s help [SUBCOMMAND]" for name in SUBCOMMANDS)])


def version() -> str:
    """The installed package's version (or pyproject's, when run from a source tree that is not installed)."""
    try:
        import tomllib

        text = (Path(__file__).resolve().parent.parent / "pyproject.toml").read_text()
        return str(tomllib.loads(text)["project"]["version"])
    except (OSError, KeyError, ValueError):
        from importlib.metadata import PackageNotFoundError
        from importlib.metadata import version as installed

        try:
            return installed("raft-check")
        except PackageNotFoundError:
            return "unknown"


def add_model_args(p: argparse.ArgumentParser, defaults: bool = True) -> None:
    """Bounds and model options shared by ``check`` and ``check defend``."""
    g = p.add_argument_group("bounds")
    g.add_argument("--servers", type=_count(1), default=3 if defaults else None, metavar="N", help="number of servers S1..SN (default 3)")
    g.add_argument("--max-term", type=_count(0), default=4 if defaults else None, metavar="T",
                   help="Timeout is enabled only while currentTerm < T (default 4)")
    g.add_argument("--max-log", type=_count(0), default=0 if defaults else None, metavar="L",
                   help="ClientRequest is enabled only while a leader's log has fewer than L entries; "
                        "0 (default) is the election layer")
    g.add_argument("--max-states", type=_count(1), default=None, metavar="K",
                   help="store at most K distinct states; if more are reachable the search stops and "
                        "the report is INCOMPLETE, never 'holds'")
    m = p.add_argument_group("model")
    m.add_argument("--tweak", action="append", default=[], metavar="NAME", help="apply a built-in protocol tweak (repeatable; see --list-tweaks)")
    m.add_argument("--tweak-file", metavar="PATH", help="apply the overrides in a Python tweak file (see README)")
    m.add_argument("--no-symmetry", action="store_true", help="store every state, not one per symmetry orbit")
    m.add_argument("--unreduced", action="store_true",
                   help="turn off the model's sound reductions (eager vote requests, message pruning; with --max-log "
                        ">= 1 also folding of notify-only requests and eager appends)")
    m.add_argument("--trust-reductions", action="store_true",
                   help="with --tweak-file, skip the soundness self-check that first compares the tweaked model's "
                        "reductions and symmetry with the plain search at small bounds (raft_check/selfcheck.py)")
    o = p.add_argument_group("output")
    o.add_argument("--out", metavar="DIR", default="counterexamples", help="where counterexample files go (default counterexamples/)")
    o.add_argument("--quiet", action="store_true", help="no live progress on stderr")
    o.add_argument("--json", action="store_true", help="print a machine-readable summary instead of tables")


def build_parser() -> argparse.ArgumentParser:
    epilog = EPILOG.replace("{subcommands}", "\n".join(f"  {name:<8}{text}" for name, text in SUBCOMMANDS.items()))
    p = _Parser(prog="check", usage=USAGE, description=DESCRIPTION, epilog=epilog, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--version", action="version", version=f"%(prog)s (raft-check) {version()}")
    add_model_args(p)
    p.add_argument("--invariant", action="append", default=[], metavar="NAME", help="check only this property (repeatable; see --list-properties)")
    p.add_argument("--list-properties", action="store_true", help="name each property with its meaning, and exit")
    p.add_argument("--list-tweaks", action="store_true", help="name each built-in tweak with the rule it changes and its verdict, and exit")
    p.add_argument("--engine", choices=("auto", "readable", "compiled"), default="auto",
                   help="search engine: auto (default): compiled wherever it can run the model, else "
                        "readable, and the Engine line says why; compiled (checker/compiled.py: the Raft encoding "
                        "models/raft_pins.py searched in numba-compiled code, threads, --store memory, compact or fp, --continue, --checkpoint); "
                        "readable (checker/bfs.py: the reference, pure Python, slow). "
                        "Both give the same counts and verdicts; compiled stores its own member of each symmetry orbit, "
                        "so its traces may differ (as short, and they replay)")
    p.add_argument("--store", choices=rows.STORES, default="memory",
                   help="where visited states are kept (compiled engine, checker/pins_store.py; bytes a state at 3 "
                        "servers): memory (default; exact rows, ~200), compact (exact, bit-packed rows, ~25, a little "
                        "slower) or fp (64-bit fingerprints only, ~15, as TLC: a hash collision could hide a state, so "
                        "'holds' comes with that probability, printed)")
    p.add_argument("--checkpoint", metavar="DIR",
                   help="save the search into DIR at the end of a BFS level (at most once a minute, see "
                        "--checkpoint-every), and resume from DIR "
                        "if it holds a checkpoint of the same search, so that a run of hours can be stopped (^C, kill) and "
                        "continued; a resumed run reports the same counts, verdict and trace, and its time adds both parts. "
                        "Any store; the compiled engine only")
    p.add_argument("--checkpoint-every", type=_minutes, default=1.0, metavar="MIN",
                   help="with --checkpoint, save at the first level end at least MIN minutes after the last save "
                        "(default 1); a save of a deep level writes gigabytes, so a long search may save less often")
    p.add_argument("--force", action="store_true",
                   help="run a search even if its estimated size (from the bounds, printed when refused) is beyond any machine")
    c = p.add_mutually_exclusive_group()
    c.add_argument("--continue", dest="keep_going", action="store_const", const=True, default=None,
                   help="keep searching after the first violation until every property is violated or the search is "
                        "complete, and report a verdict per property, each violated one with its own shortest trace "
                        "(the default with --tweak or --tweak-file)")
    c.add_argument("--stop-at-first", dest="keep_going", action="store_const", const=False,
                   help="stop at the first violation of any property and report that one (the default without tweaks)")
    p.add_argument("--ray", metavar="ADDRESS",
                   help="search on a Ray cluster (checker/distributed.py): the visited set partitioned by hash over "
                        "one actor per CPU, level by level, with the counts, verdict and trace of one process.  The "
                        "actors run the engine --engine picks: the compiled kernel (checker/ray_compiled.py; --store "
                        "memory or compact) or, with --engine readable, the readable expansion.  ADDRESS: local (start "
                        "Ray on this machine), auto (the cluster this machine has joined, e.g. after `ray start "
                        "--head`) or a cluster address such as 10.0.0.5:6379.  Needs the extra: pip install -e '.[ray]'")
    p.add_argument("--ray-saves", metavar="DIR",
                   help="with --ray: where each actor saves its part at level ends, so that the search goes on from "
                        "the last one when an actor or a node is lost (default: a new temporary folder, at the same "
                        "path on each node, removed at the end: it survives a lost actor, not a lost node; on a "
                        "cluster of several machines, give a folder every node sees, e.g. on NFS)")
    p.add_argument("--ray-batch", type=_count(1), default=None, metavar="N",
                   help="with --ray: states the actors expand between two synchronisations (default 16,384 for compiled "
                        "actors, the one-process compiled engine's batch, so that the trace is its trace; 4,096 for "
                        "readable ones).  On a large cluster give each actor a batch of that size: N = 16,384 x actors.  "
                        "Counts, verdicts and trace lengths do not depend on N; with compiled actors the trace is that of "
                        "a one-process search with the same batch")
    p.add_argument("--workers", type=_count(1), default=None, metavar="N",
                   help="expand states in N threads of the compiled engine, any store (default: every core; this "
                        f"machine has {_cores()}); counts, verdict and trace are the same as with 1")
    return p


def make_model(args: argparse.Namespace) -> Raft:
    """The (possibly tweaked) Raft model the arguments describe."""
    try:
        chosen = tweaks.lookup(args.tweak)
        if args.tweak_file:
            chosen.append(tweaks.load_file(args.tweak_file))
        cls = tweaks.apply(chosen)
        history = any(name in HISTORY_PROPERTIES for name in args.invariant)  # the ghost `elected` only when needed
        model = cls(args.servers, args.max_term, args.max_log, reduce=not args.unreduced, history=history)
    except (tweaks.TweakError, ValueError) as e:
        raise BadInput(str(e)) from None
    check_tweak_acts(model, chosen)
    return model


def select_properties(model: Raft, names: Sequence[str]) -> list[Property[State, Action]]:
    props = list(model.properties())
    if not names:
        return props
    by_name = {p.name: p for p in props}
    unknown = [n for n in names if n not in by_name]
    if unknown:
        if model.max_log == 0 and unknown[0] in {p.name for p in Raft(model.n, model.max_term, 1).properties()}:
            raise BadInput(f"property {unknown[0]!r} is about logs, which max-log 0 leaves out: add --max-log 1 (or more)")
        raise BadInput(f"unknown property {unknown[0]!r}; valid properties: {', '.join(by_name)} (see --list-properties)")
    return [by_name[n] for n in dict.fromkeys(names)]


LOG_HOOKS = frozenset({"log_ok_for_vote", "log_ok_for_append", "merge_entries", "new_commit_index", "can_commit"})
"""Hooks that decide about logs.  With max-log 0 every log is empty, and the built-in tweaks of these hooks (declared at
max-log 1 or more) then decide exactly as the unmodified rule: they cannot act."""


def check_tweak_acts(model: Raft, chosen: Sequence[tweaks.Tweak]) -> None:
    """A built-in log tweak at max-log 0 is an error: it would report the unmodified protocol's verdict as its own."""
    if model.max_log > 0:
        return
    for t in chosen:
        if t.name in tweaks.BUILTIN and t.bounds[2] > 0 and set(t.overrides) <= LOG_HOOKS:
            raise BadInput(f"tweak {t.name!r} changes only the log layer ({', '.join(sorted(t.overrides))}), and max-log 0 "
                           "leaves logs empty, so it could change nothing: add --max-log 1")


def list_properties_json(model: Raft) -> list[dict[str, str]]:
    return [{"name": p.name, "kind": p.kind.value, "group": p.group, "description": p.description} for p in model.properties()]


def tweak_command(t: tweaks.Tweak) -> str:
    """The ``check`` command that reproduces a built-in tweak's declared verdict exactly (the search ``check defend`` runs)."""
    model = tweaks.apply([t])(*t.bounds)
    props = [*rows.safety_properties(model), *(p for p in model.properties() if p.kind is Kind.SOMETIMES)]
    return shlex.join(["check", *rows.check_argv(t.name, t.bounds, props, t.store)])


def list_tweaks_json() -> list[dict[str, Any]]:
    return [{"name": t.name, "rule": t.rule, "expected": t.expected,
             "bounds": {"servers": t.bounds[0], "max_term": t.bounds[1], "max_log": t.bounds[2]},
             "searched": t.searched, "search_time": t.search_time or None, "note": t.note, "command": tweak_command(t)}
            for t in tweaks.BUILTIN.values()]


def list_properties(model: Raft) -> str:
    props = model.properties() if model.history else type(model)(1, 0, model.max_log, history=True).properties()
    rows = [(p.name, p.kind.value, p.group, p.description + (" [opt-in]" if p.name in HISTORY_PROPERTIES else ""))
            for p in props]
    note = "" if model.max_log else "\n(the replication properties are checked with --max-log 1 or more)"
    note += (f"\n([opt-in]: checked only when named with --invariant, e.g. --invariant {HISTORY_PROPERTIES[0]}: it adds the "
             "ghost history variable `elected`, which grows the state space)")
    return tabulate(rows, headers=["property", "kind", "group", "meaning"]) + note


def list_tweaks() -> str:
    rows = [(t.name, t.rule, f"{t.expected} at --servers {t.bounds[0]} --max-term {t.bounds[1]}"
             + (f" --max-log {t.bounds[2]}" if t.bounds[2] else "") + ("" if t.searched else " (from a replayed execution; not yet searched)")
             + (f" (search: {t.search_time})" if t.search_time else ""))
            for t in tweaks.BUILTIN.values()]
    table = tabulate(rows, headers=["tweak", "rule it changes (from spec/Raft.tla)", "expected verdict"], maxcolwidths=[None, 60, 60])
    commands = "\n".join(f"  {tweak_command(t)}" for t in tweaks.BUILTIN.values())
    return (f"{table}\n\nEach verdict, reproduced exactly (the safety properties, and the reachability checks that guard a "
            f"'holds' against vacuity; plain `check --tweak NAME` also checks structural invariants, which may fail first):\n"
            f"{commands}")


OUTPUT_ONLY = {"--out": True, "--quiet": False, "--json": False, "--checkpoint": True, "--checkpoint-every": True}
"""Options that change where or how results are shown, or where a search is saved, not what is found (True: takes a
value); they are not recorded in counterexample files, which name no local directory."""


def command_line(argv: Sequence[str]) -> str:
    """The ``check`` command recorded in counterexample files: ``argv`` without the output-only options.

    Running it again regenerates the same files (at the default --out), and
    regenerating with another --out writes byte-identical files.
    """
    return shlex.join(["check", *portable_paths(without_options(argv, OUTPUT_ONLY))])


def portable_paths(argv: Sequence[str], cwd: str | None = None) -> list[str]:
    """``argv`` with an absolute ``--tweak-file`` path made relative to the current directory (a relative one is kept
    as given), so that a counterexample file names no machine's folders and its command runs from the same place."""
    out: list[str] = []
    take = False
    for a in argv:
        if take:
            a, take = os.path.relpath(a, cwd) if os.path.isabs(a) else a, False
        elif a == "--tweak-file":
            take = True
        elif a.startswith("--tweak-file=") and os.path.isabs(a.split("=", 1)[1]):
            a = "--tweak-file=" + os.path.relpath(a.split("=", 1)[1], cwd)
        out.append(a)
    return out


def run_check(model: Raft, props: Sequence[Property[State, Action]], *, symmetry: bool, max_states: int | None,
              quiet: bool, engine: str = "readable", store: str = "memory", workers: int = 1,
              checkpoint: Path | None = None, checkpoint_key: str = "", checkpoint_every: float = 1.0,
              keep_going: bool = False, ray: str | None = None, ray_saves: str | None = None,
              ray_batch: int | None = None) -> Result[State, Action]:
    bar = ProgressBar(not quiet)
    bar.start()
    try:
        if ray is not None:
            from checker import distributed
            from checker.distributed import RayExplorer, RayUnavailable

            try:
                if engine == "compiled":
                    from checker import compiled
                    from checker.ray_compiled import CompiledRayExplorer
                    from models.raft_pins import RaftPins

                    return CompiledRayExplorer(RaftPins(model, props, symmetry=symmetry), symmetry=symmetry, store=store,
                                               max_states=max_states, progress=bar, keep_going=keep_going, address=ray,
                                               save_dir=ray_saves, batch=ray_batch or compiled.BATCH).run()
                return RayExplorer(model, props, symmetry=symmetry, max_states=max_states, progress=bar, keep_going=keep_going,
                                   address=ray, save_dir=ray_saves, batch=ray_batch or distributed.BATCH).run()
            except RayUnavailable as e:
                raise BadInput(str(e)) from None
        if engine == "compiled":
            from checker.compiled import CompiledExplorer
            from models.raft_pins import RaftPins

            return CompiledExplorer(RaftPins(model, props, symmetry=symmetry), symmetry=symmetry, max_states=max_states, progress=bar,
                                    workers=workers, store=store, keep_going=keep_going, checkpoint=checkpoint,
                                    checkpoint_key=checkpoint_key, checkpoint_interval=60.0 * checkpoint_every).run()
        return Explorer(model, props, symmetry=symmetry, max_states=max_states, progress=bar, keep_going=keep_going).run()
    finally:
        bar.close()


def summary_json(model: Raft, result: Result[State, Action], symmetry: bool, files: Sequence[Path]) -> dict[str, Any]:
    st = result.stats
    return {
        "verdict": result.status if not (result.status == HOLDS and result.unsatisfied) else "vacuous",
        "model": model_label(model),
        "servers": model.n, "max_term": model.max_term, "max_log": model.max_log,
        "symmetry": symmetry, "reduced": model.reduce,
        "properties": [p.name for p in result.checked],
        "violated": result.violation.prop.name if result.violation else None,
        "trace_length": len(result.violation.trace) - 1 if result.violation else None,
        "unsatisfied": result.unsatisfied,
        "incomplete_reason": result.incomplete_reason,
        "distinct_states": st.distinct_states, "transitions": st.transitions, "depth": st.depth,
        "wall_seconds": round(st.wall_seconds, 3), "states_per_second": round(st.states_per_second),
        "peak_rss_bytes": st.peak_rss, "action_counts": dict(st.action_counts),
        "store": st.store, "store_bytes": st.store_bytes, "collision_probability": st.collision_probability,
        # --ray: the actors, their processes' peak RSS summed, and their nodes (0 otherwise); peak_rss_bytes is the driver's
        "actors": st.actors, "actors_peak_rss_bytes": st.actors_peak_rss, "actor_nodes": st.actor_nodes,
        "counterexample_files": [str(f) for f in files],
    }


def _command(argv: list[str]) -> int:
    if argv and argv[0] == "help":
        return _help(argv[1:])
    if argv and argv[0] in SUBCOMMANDS:
        return int(_subcommand(argv[0]).main(argv[1:]))
    return _check(argv)


def main(argv: Sequence[str] | None = None) -> int:
    from checker import failure

    argv = list(sys.argv[1:] if argv is None else argv)
    as_json = failure.wants_json(argv)
    try:
        # ^C and `kill` end a run as incomplete (exit 3), also during a compile (checker.signals)
        with signals.interrupts(signal.SIGINT, signal.SIGTERM):
            return _command(argv)
    except BadInput as e:
        if as_json:
            print(json.dumps(failure.error_json("bad input", str(e), EXIT_BAD_INPUT)))
        print(f"check: error: {e}", file=sys.stderr)
        return EXIT_BAD_INPUT
    except BrokenPipeError:
        # The reader went away (e.g. `check ... | head`): stop quietly, as Unix tools do.
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 128 + 13  # what a shell reports for a process ended by SIGPIPE
    except KeyboardInterrupt:  # ^C outside the search (which reports itself as incomplete), e.g. while tracing
        if as_json:  # one JSON object, as for every other outcome
            print(json.dumps({**failure.error_json("incomplete", "interrupted (^C or kill) outside the search", EXIT_INCOMPLETE),
                              "incomplete_reason": "interrupted"}))
        print("check: interrupted", file=sys.stderr)
        return EXIT_INCOMPLETE
    except Exception as e:  # a failure of the run, never a verdict (exit 4)
        line, report = failure.describe(e, argv)
        if as_json:
            print(json.dumps(failure.error_json("failed", line, EXIT_FAILED, report)))
        print(f"check: failed: {line}", file=sys.stderr)
        return EXIT_FAILED


def check_tweak_file_ran(args: argparse.Namespace, model: Raft, result: Result[State, Action]) -> None:
    """A "holds" of a tweak file whose hooks never ran is the unmodified protocol's verdict: refuse it (exit 2) with the
    bound that would let them run.  (The compiled engine's threads call no hook: its tables are filled in this process,
    which sees every hook call.)"""
    if not args.tweak_file or result.status != HOLDS:
        return
    ours = [name for name, f in type(model).__dict__.items() if name in HOOKS and hasattr(f, "__wrapped__")]
    if not ours or tweaks.CALLED & set(ours):
        return
    fix = " (with --max-log 0 logs are empty and entries are never committed: add --max-log 1)" \
        if model.max_log == 0 and set(ours) <= LOG_HOOKS else " (loosen the bounds so that they are reached)"
    raise BadInput(f"tweak file {args.tweak_file}: its hooks ({', '.join(sorted(ours))}) never ran in this search, so its "
                   f"verdict would be the unmodified protocol's{fix}")


def _help(names: Sequence[str]) -> int:
    """``check help [SUBCOMMAND]``: the help of ``check`` or of one subcommand."""
    if len(names) > 1:
        raise BadInput(f"check help takes at most one subcommand, got {' '.join(names)}")
    if not names or names[0] in ("check", "help"):
        build_parser().print_help()
        return EXIT_HOLDS
    if names[0] in SUBCOMMANDS:
        _subcommand(names[0]).build_parser().print_help()
        return EXIT_HOLDS
    raise BadInput(f"no subcommand {names[0]!r}; subcommands: {', '.join(SUBCOMMANDS)}")


def search_key(model: Raft, props: Sequence[Property[State, Action]], symmetry: bool, store: str, tweak_file: str | None) -> str:
    """What a search explores and checks, and a digest of the code that defines it: a checkpoint is resumed only by a
    search with the same key."""
    key = (f"{model_label(model)} servers={model.n} max-term={model.max_term} max-log={model.max_log} symmetry={symmetry} "
           f"eager-votes={model.eager_votes} pruning={model.prune_msgs} folding={model.fold_msgs} eager-appends={model.eager_appends} "
           f"properties={','.join(p.name for p in props)} store={store}")
    # The code that defines the states and their numbering: a checkpoint saved by other code would be misread.
    import hashlib
    import inspect

    from models import raft as raft_module
    from models import raft_pins

    h = hashlib.sha256()
    for module in (raft_module, raft_pins):
        h.update(Path(str(module.__file__)).read_bytes())
    for name, fn in sorted(vars(type(model)).items()):
        if callable(fn) and type(model) is not Raft:
            try:
                h.update(name.encode() + inspect.getsource(fn).encode())
            except (OSError, TypeError):
                h.update(name.encode())
    if tweak_file:
        h.update(Path(tweak_file).read_bytes())
    return f"{key} code-sha256={h.hexdigest()[:16]}"


def compiled_engine(model: Raft) -> tuple[str, str]:
    """``--engine compiled`` and its announcement; ValueError if the Raft encoding cannot represent ``model``."""
    from models.raft_pins import unsupported

    why = unsupported(model)
    if why is not None:
        raise ValueError(f"--engine compiled cannot run this model: {why}; use --engine readable")
    return "compiled", "compiled (checker/compiled.py, numba kernel checker/pins_kernel.py; encoding models/raft_pins.py)"


def pick_engine(model: Raft, wanted: str) -> tuple[str, str]:
    """The engine for ``--engine wanted`` and the line announcing it; ValueError if the named engine cannot run ``model``.

    ``auto`` is the compiled engine wherever it can run the model, else the readable one, saying why."""
    if wanted == "readable":
        return "readable", "readable (checker/bfs.py)"
    if wanted == "compiled":
        return compiled_engine(model)
    if wanted != "auto":
        raise ValueError(f"unknown engine {wanted!r}: auto, compiled or readable")
    from models.raft_pins import unsupported

    why = unsupported(model)
    if why is not None:
        return "readable", f"readable (checker/bfs.py): the compiled engine cannot run this model: {why}"
    return compiled_engine(model)


def tweak_self_check(args: argparse.Namespace, model: Raft, symmetry: bool) -> tuple[selfcheck.Report | None, str | None]:
    """For a --tweak-file run with a reduction or symmetry on: the self-check's report and header line (BadInput,
    exit 2, if it finds a difference).  (None, None) for a run without a tweak file."""
    if not args.tweak_file:
        return None, None
    if not symmetry and not any(model.reductions.values()):
        return None, selfcheck.check_line(False, None, "no reduction and no symmetry: nothing to check")
    if args.trust_reductions:
        return None, selfcheck.check_line(True, None)
    report = selfcheck.run(type(model), model, symmetry)
    if not report.ok:
        raise BadInput(selfcheck.refusal(report, args.tweak_file))
    return report, selfcheck.check_line(False, report)


def _check(argv: list[str]) -> int:
    args = build_parser().parse_args(argv)
    if args.list_tweaks:
        print(json.dumps(list_tweaks_json(), indent=1) if args.json else list_tweaks())
        return 0
    model = make_model(args)
    if args.list_properties:
        print(json.dumps(list_properties_json(model), indent=1) if args.json else list_properties(model))
        return 0
    props = select_properties(model, args.invariant)
    out = check_out_dir(args.out)
    from raft_check import sizing

    symmetry = not args.no_symmetry
    keep_going = args.keep_going if args.keep_going is not None else bool(args.tweak or args.tweak_file)
    try:
        engine, engine_note = pick_engine(model, args.engine)
    except ValueError as e:
        raise BadInput(str(e)) from None
    for opt, set_ in (("--ray-saves", args.ray_saves is not None), ("--ray-batch", args.ray_batch is not None)):
        if set_ and args.ray is None:
            raise BadInput(f"{opt} needs --ray ADDRESS")
    if args.ray is not None:
        given = [opt for opt, on in (("--workers", args.workers is not None), ("--checkpoint", bool(args.checkpoint)),
                                     ("--store fp", args.store == "fp" and engine == "compiled")) if on]
        if given:
            why = {"--workers": "it runs one actor per CPU of the cluster",
                   "--checkpoint": "its actors save their parts at level ends themselves (--ray-saves)",
                   "--store fp": "the fp store rebuilds a trace from parent records that a part of the store does not "
                                 "have; use --store memory or compact"}[given[0]]
            raise BadInput(f"{given[0]} does not go with --ray: {why}")
        if engine == "compiled":
            engine_note = (f"compiled (checker/pins_kernel.py in every actor: checker/ray_compiled.py) on Ray "
                           f"(checker/distributed.py) at {args.ray}, one actor per CPU")
        else:
            engine_note = f"readable (checker/bfs.py's expansion) on Ray (checker/distributed.py) at {args.ray}, one actor per CPU"
        from checker import compiled, distributed

        args.ray_batch = args.ray_batch or (compiled.BATCH if engine == "compiled" else distributed.BATCH)
        engine_note += f", batches of {args.ray_batch:,} states"
    symmetry_note = ""
    if symmetry and model.n > sizing.SYMMETRY_MAX_SERVERS:
        symmetry = False
        symmetry_note = (f" (symmetry is off above {sizing.SYMMETRY_MAX_SERVERS} servers: a state's canonical form would try "
                         f"up to {model.n}! = {math.factorial(model.n):,} renamings)")
    est = sizing.estimate(model.n, model.max_term, model.max_log, symmetry=symmetry, reduced=model.reduce, store=args.store,
                          engine=engine)
    refusal, warning = sizing.advice(est, args.store, capped=args.max_states is not None, force=args.force)
    if refusal is not None:
        raise BadInput(refusal)
    if warning is not None and not keep_going:
        warning += "; that is the complete search: the first violation ends it sooner"
    if args.tweak_file and symmetry:
        from checker import failure, symcheck

        try:
            odd = symcheck.asymmetry(model)
        except tweaks.TweakError as e:
            raise BadInput(str(e)) from None
        except SystemExit as e:  # a tweak hook called sys.exit: a failure of the run, not its end
            raise failure.Exited(e.code) from e
        if odd is not None:
            raise BadInput(f"{failure.ASYMMETRIC} ({args.tweak_file}: {odd})")
    cmd = command_line(argv)
    if engine != "compiled":  # the readable engine: a dict of states, one thread, no checkpoints
        given = [opt for opt, on in ((f"--store {args.store}", args.store != "memory"), (f"--workers {args.workers}", (args.workers or 1) > 1),
                                     ("--checkpoint", bool(args.checkpoint))) if on]
        if given:
            raise BadInput(f"{' and '.join(given)} need{'s' if len(given) == 1 else ''} the compiled engine, and this run uses "
                           f"{engine_note}; drop {'it' if len(given) == 1 else 'them'}")
    if args.store != "memory":
        engine_note += f", store {args.store} (checker/pins_store.py)"
    if engine == "compiled" and args.ray is None:  # threads sharing the search's arrays: every core unless told otherwise
        args.workers = args.workers or _cores()
        engine_note += f", {args.workers} thread{'s' if args.workers > 1 else ''}"
    args.workers = args.workers or 1
    checkpoint = Path(args.checkpoint) if args.checkpoint else None
    if checkpoint is None and args.checkpoint_every != 1.0:
        raise BadInput("--checkpoint-every needs --checkpoint DIR")
    key = search_key(model, props, symmetry, args.store, args.tweak_file) + (" continue" if keep_going else "")
    if checkpoint is not None:
        from checker import checkpoint as ck

        try:
            ck.check_folder(checkpoint)  # up front: not after minutes of search, at the first save
            ck.verify(checkpoint, "compiled")  # another engine's: refused before the search
            saved = ck.describe(checkpoint)
        except CheckpointError as e:
            raise BadInput(str(e)) from None
    check_report, check_note = tweak_self_check(args, model, symmetry)
    if not args.json:
        print(f"Checking {model_label(model)}: servers={model.n} max-term={model.max_term} max-log={model.max_log} "
              f"symmetry={'on' if symmetry else 'off'}{symmetry_note}")
        print("\n".join(selfcheck.reduction_lines(model, args.unreduced)))
        if check_note is not None:
            print(check_note)
        print(f"Properties: {', '.join(p.name for p in props)}")
        print(f"Engine: {engine_note}")
        if keep_going:
            slow = [t for t in tweaks.lookup(args.tweak) if t.search_time]
            note = (f"; at its declared bounds, {slow[0].name}'s search to the first violation alone takes {slow[0].search_time}"
                    if slow else "")
            print(f"Search: --continue: a verdict for every property (--stop-at-first stops at the first violation{note})")
        if checkpoint is not None:
            print(f"Checkpoint: {checkpoint} -- " + (f"resuming the saved search: {saved}" if saved else "none saved yet; saving at level ends"))
    if warning is not None:
        print(warning, file=sys.stderr)
    tweaks.CALLED.clear()
    try:
        result = run_check(model, props, symmetry=symmetry, max_states=args.max_states, quiet=args.quiet or args.json,
                           engine=engine, store=args.store, workers=args.workers, checkpoint=checkpoint, checkpoint_key=key,
                           checkpoint_every=args.checkpoint_every, keep_going=keep_going, ray=args.ray,
                           ray_saves=args.ray_saves, ray_batch=args.ray_batch)
    except CheckpointError as e:
        raise BadInput(str(e)) from None
    except tweaks.TweakError as e:  # a tweak file's hook broke its contract (e.g. returned the wrong type)
        raise BadInput(str(e)) from None
    except SystemExit as e:  # a tweak hook called sys.exit: a failure of the run, not its end
        from checker.failure import Exited

        raise Exited(e.code) from e
    if checkpoint is not None and not args.json:
        last = ck.describe(checkpoint)
        done = "" if result.status == INCOMPLETE else " (the search is complete: the directory can be deleted)"
        print(f"Checkpoint: {checkpoint} -- " + (f"last saved at {last}{done}" if last else "nothing saved (no level ended a minute or more after the start)"))
    check_tweak_file_ran(args, model, result)
    if keep_going:
        from raft_check import verdicts

        return verdicts.report(model, result, out, cmd, as_json=args.json,
                               summary={**summary_json(model, result, symmetry, []), "engine": engine,
                                        **selfcheck.json_fields(model, args.trust_reductions and bool(args.tweak_file), check_report)})
    files: list[Path] = []
    write_error = None
    if result.violation is not None and not args.json:
        print()
        print(violation_text(model, result, cmd).split("\n", 1)[1], flush=True)  # shown before any file is written
    if result.violation is not None:
        try:
            files = list(write_counterexample(model, result, out, cmd))
        except OSError as e:  # the violation stands (exit 1); its trace is printed, or in the JSON
            write_error = f"could not write the counterexample under {out}: {e.strerror or e}" + (
                f" ({e.filename})" if e.filename else "")
            print(f"check: {write_error}; " + ("its trace is in the JSON summary" if args.json else "its trace is printed above"),
                  file=sys.stderr)
    text, code = verdict(result)
    if args.json:
        summary = {**summary_json(model, result, symmetry, files), "engine": engine,
                   **selfcheck.json_fields(model, args.trust_reductions and bool(args.tweak_file), check_report)}
        if write_error is not None:
            summary.update(write_error=write_error, counterexample_text=violation_text(model, result, cmd))
        print(json.dumps(summary, indent=1))
        return code
    if files:
        print(f"Counterexample written to {files[0]} and {files[1]}" + (f"; open {files[2]} in a browser to step through it" if len(files) > 2 else ""))
    print()
    print(stats_table(result))
    print()
    print(text)
    return code
