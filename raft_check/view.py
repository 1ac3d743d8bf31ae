"""``check view TRACE.itf.json [-o FILE.html]``: the trace viewer of any trace the checker wrote, from the ITF file alone.

The ITF file records the ``check`` command that produced it; the model is
rebuilt from that command, every state is read back (with the real ITF parser,
``itf-py``) and every step re-found as a transition of the model, so the page
is exactly the one ``check`` writes next to a counterexample.  Exit 0 on
success, 2 when the file is not an ITF trace of this model (one line says why).
"""

from __future__ import annotations

import argparse
import shlex
import sys
from collections.abc import Sequence
from pathlib import Path

from checker.console import EXIT_BAD_INPUT, BadInput, _Parser
from checker.model import Property
from models import viewer
from models.raft import Action, Raft, State

DESCRIPTION = """\
Write the interactive trace viewer (one self-contained HTML file: open it from
disk in any browser) of a trace the checker wrote as ITF JSON: a
counterexample of `check`, or a path saved from `check explore`."""


def build_parser() -> argparse.ArgumentParser:
    p = _Parser(prog="check view", description=DESCRIPTION, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("traces", nargs="+", metavar="TRACE.itf.json",
                   help="an ITF trace written by check or check explore (several: one page each, e.g. counterexamples/*/*.itf.json)")
    p.add_argument("-o", "--output", metavar="FILE.html",
                   help="where to write the page, for one trace (default: next to the trace, .itf.json replaced by .html)")
    return p


def model_of_command(command: str) -> tuple[Raft, list[Property[State, Action]]]:
    """The model and properties of a recorded ``check ...`` (or ``check simulate ...``) command; ValueError if invalid."""
    from raft_check import cli

    try:
        argv = shlex.split(command)[1:]
        if {"-h", "--help", "--version"} & set(argv):
            raise ValueError("it asks for help or the version, so it ran no search")
        if argv[:1] == ["simulate"]:  # a trace found by `check simulate`: the same model flags
            from raft_check import simulate

            args = simulate.build_parser().parse_args(argv[1:])
        else:
            args = cli.build_parser().parse_args(argv)
        model = cli.make_model(args)
        props = cli.select_properties(model, args.invariant)
    except BadInput as e:
        raise ValueError(str(e)) from None
    return model, props


def read_itf(path: Path) -> viewer.ItfTrace:
    """``models.viewer.read_itf``, the model rebuilt from the command the file records (TraceFileError if it cannot be)."""
    return viewer.read_itf(path, model_of_command)


def default_output(trace: Path) -> Path:
    name = trace.name
    stem = name.removesuffix(".itf.json") if name.endswith(".itf.json") else trace.stem
    return trace.with_name(stem + ".html")


def main(argv: Sequence[str]) -> int:
    args = build_parser().parse_args(list(argv))
    if args.output and len(args.traces) > 1:
        raise BadInput(f"-o names one page, and {len(args.traces)} traces were given; drop -o to write each next to its trace")
    # Read every trace before writing anything: a bad file among several changes no page.
    pages = []
    for name in args.traces:
        src = Path(name)
        try:
            t = read_itf(src)
        except viewer.TraceFileError as e:
            raise BadInput(str(e)) from None
        pages.append((Path(args.output) if args.output else default_output(src), t))
    for out, t in pages:
        try:
            out.write_text(viewer.html_for_itf(t))
        except OSError as e:
            print(f"check: error: cannot write {out}: {e.strerror}", file=sys.stderr)
            return EXIT_BAD_INPUT
        print(f"Wrote {out} ({len(t.trace) - 1} steps); open it in a browser")
    return 0
