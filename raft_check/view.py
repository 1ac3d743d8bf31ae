"""``check view TRACE.itf.json [-o FILE.html]``: the trace viewer of any trace the checker wrote, from the ITF file alone.

The ITF file records the ``check`` command that produced it; the model is
rebuilt from that command, every state is read back (with the real ITF parser,
``itf-py``) and every step re-found as a transition of the model, so the page
is exactly the one ``check`` writes next to a counterexample.  Exit 0 on
success, 2 when the file is not an ITF trace of this model (one line says why).
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from pathlib import Path

from models import viewer
from raft_check.cli import EXIT_BAD_INPUT, BadInput, _Parser

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
            t = viewer.read_itf(src)
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
