"""``check explore``: drive a Raft cluster by hand in the browser, one enabled action at a time.

A small local web server (the standard library's ``http.server``, on
127.0.0.1 only) serves the trace viewer (``models/viewer.html``) in explore
mode.  The page shows the path taken so far in the same diagram, swim lanes
and slider as a counterexample; below it, every action enabled in the last
state, with its arguments.  Clicking one takes that step of the model.  Back
undoes the last step, forward redoes it; every selected property is evaluated
on the last state (action properties on the last step, reachability ones on
the whole path); and the path can be saved as ITF, which ``check view`` and
``check explore --from`` read back.

The page talks to the server through a tiny JSON API:
``GET /api/state``, ``POST /api/step {"index": i}``, ``POST /api/back``,
``POST /api/forward`` (each answers the new state) and ``GET /api/itf``.
"""

from __future__ import annotations

import argparse
import errno
import json
import sys
import threading
from collections.abc import Sequence
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

from checker.console import BadInput, _count, _Parser, without_options
from checker.model import Kind, Property
from checker.trace import Step
from models import render, viewer
from models.raft import Action, Raft, State
from raft_check import cli, report

DEFAULT_PORT = 8716

DESCRIPTION = """\
Serve the trace viewer on 127.0.0.1 and drive a cluster by hand: start at Init
(or at step K of a saved trace), click an enabled action to take it, step back
and forward, watch every selected property, and save the path as ITF.  For the
teacher who wants students to drive the cluster into a violation themselves."""

EPILOG = """\
examples:
  check explore --servers 3 --max-term 1 --tweak vote-not-persisted
  check explore --from counterexamples/vote-not-persisted/ElectionSafety_s3_t1.itf.json --step 4

exit codes: 0 stopped with Ctrl-C, 2 bad input (including a port already in use)."""

EXPLORE_ONLY = {"--port": True, "--from": True, "--step": True}


def _port(text: str) -> int:
    """A TCP port, 0 (any free one) to 65535."""
    v = _count(0)(text)
    if v > 65535:
        raise argparse.ArgumentTypeError(f"a port is at most 65535, got {v}")
    return int(v)


def build_parser() -> argparse.ArgumentParser:
    p = _Parser(prog="check explore", description=DESCRIPTION, epilog=EPILOG, formatter_class=argparse.RawDescriptionHelpFormatter)
    g = p.add_argument_group("bounds and model (as for check; taken from the trace with --from)")
    g.add_argument("--servers", type=_count(1), default=None, metavar="N", help="number of servers S1..SN (default 3)")
    g.add_argument("--max-term", type=_count(0), default=None, metavar="T", help="Timeout is enabled only while currentTerm < T (default 4)")
    g.add_argument("--max-log", type=_count(0), default=None, metavar="L", help="a leader's log holds at most L entries (default 0)")
    g.add_argument("--tweak", action="append", default=[], metavar="NAME", help="apply a built-in protocol tweak (repeatable)")
    g.add_argument("--tweak-file", metavar="PATH", help="apply the overrides in a Python tweak file")
    g.add_argument("--unreduced", action="store_true", help="turn off the model's sound reductions")
    g.add_argument("--invariant", action="append", default=[], metavar="NAME", help="watch only this property (repeatable; default: all)")
    s = p.add_argument_group("server")
    s.add_argument("--port", type=_port, default=DEFAULT_PORT, metavar="P",
                   help=f"port on 127.0.0.1 (default {DEFAULT_PORT}; 0 picks a free one)")
    s.add_argument("--from", dest="from_trace", metavar="TRACE.itf.json", help="start from a saved trace (check's or a saved explore path)")
    s.add_argument("--step", type=_count(0), default=None, metavar="K", help="with --from: start at step K (default: its last step)")
    return p


class Session:
    """The path taken so far, the steps undone (for forward), and the model they are steps of."""

    def __init__(self, model: Raft, props: Sequence[Property[State, Action]], command: str, path: list[Step[State, Action]]) -> None:
        self.model, self.props, self.command = model, list(props), command
        self.path = path
        self.undone: list[Step[State, Action]] = []
        self.lock = threading.Lock()

    def enabled(self) -> list[tuple[Action, State]]:
        s = self.path[-1].state
        out = []
        for a in self.model.actions(s):
            t = self.model.next_state(s, a)
            if t is not None:
                out.append((a, t))
        return out

    def take(self, index: int) -> None:
        moves = self.enabled()
        if not 0 <= index < len(moves):
            raise ValueError(f"no enabled action number {index} (there are {len(moves)})")
        a, t = moves[index]
        self.path.append(Step(a, t))
        self.undone.clear()

    def back(self) -> None:
        if len(self.path) > 1:
            self.undone.append(self.path.pop())

    def forward(self) -> None:
        if self.undone:
            self.path.append(self.undone.pop())

    def property_values(self) -> list[dict[str, str]]:
        last = self.path[-1]
        out = []
        for p in self.props:
            if p.kind is Kind.ALWAYS:
                value = "holds" if p.check(last.state) else "violated"
            elif p.kind is Kind.ACTION:
                value = "n/a" if len(self.path) < 2 else "holds" if p.check(self.path[-2].state, last.action, last.state) else "violated"
            else:
                value = "seen" if any(p.check(st.state) for st in self.path) else "not yet"
            out.append({"name": p.name, "kind": p.kind.value, "description": p.description, "value": value})
        return out

    def title(self) -> str:
        m = self.model
        return (f"check explore: {'+'.join(m.tweaks) if m.tweaks else 'raft'}, {m.n} servers, max-term {m.max_term}"
                + (f", max-log {m.max_log}" if m.max_log else ""))

    def view(self) -> dict[str, Any]:
        s = self.path[-1].state
        trace = viewer.trace_data(self.model, self.path, viewer.broken(self.model, self.props, self.path),
                                  title=self.title(), command=self.command)
        enabled = [{"index": k, "text": render.action_text(a), "name": a.name, "story": render.story(self.model, s, a, t)}
                   for k, (a, t) in enumerate(self.enabled())]
        return {"trace": trace, "enabled": enabled, "properties": self.property_values(),
                "canBack": len(self.path) > 1, "canForward": bool(self.undone)}

    def itf(self) -> dict[str, Any]:
        desc = f"Path of {len(self.path) - 1} steps taken by hand in check explore, produced by: {self.command}"
        return report.itf_document(self.model, self.path, desc)


def make_handler(session: Session) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def log_message(self, format: str, *args: Any) -> None:  # no access log on stderr
            pass

        def send(self, code: int, body: bytes, ctype: str, extra: dict[str, str] | None = None) -> None:
            self.send_response(code)
            self.send_header("Content-Type", ctype)
            self.send_header("Content-Length", str(len(body)))
            self.send_header("Cache-Control", "no-store")
            for k, v in (extra or {}).items():
                self.send_header(k, v)
            self.end_headers()
            self.wfile.write(body)

        def send_json(self, data: Any, code: int = 200, extra: dict[str, str] | None = None) -> None:
            self.send(code, json.dumps(data).encode(), "application/json", extra)

        def do_GET(self) -> None:
            with session.lock:
                if self.path in ("/", "/index.html"):
                    self.send(200, viewer.page({"title": session.title()}, explore=True).encode(), "text/html; charset=utf-8")
                elif self.path == "/api/state":
                    self.send_json(session.view())
                elif self.path == "/api/itf":
                    self.send_json(session.itf(), extra={"Content-Disposition": 'attachment; filename="explored.itf.json"'})
                else:
                    self.send_json({"error": f"no such page: {self.path}"}, 404)

        def do_POST(self) -> None:
            length = int(self.headers.get("Content-Length") or 0)
            try:
                body = json.loads(self.rfile.read(length) or b"{}")
            except json.JSONDecodeError:
                self.send_json({"error": "the request body is not JSON"}, 400)
                return
            with session.lock:
                try:
                    if self.path == "/api/step":
                        session.take(int(body.get("index", -1)))
                    elif self.path == "/api/back":
                        session.back()
                    elif self.path == "/api/forward":
                        session.forward()
                    else:
                        self.send_json({"error": f"no such action: {self.path}"}, 404)
                        return
                except (ValueError, TypeError, AttributeError) as e:
                    self.send_json({"error": str(e)}, 400)
                    return
                except Exception as e:  # the model (say, a tweak hook) failed: one line, with a report file, not a traceback
                    from checker import failure

                    line, _ = failure.describe(e, sys.argv[1:])
                    print(f"check explore: failed: {line}", file=sys.stderr, flush=True)
                    self.send_json({"error": f"the model failed: {line}"}, 500)
                    return
                self.send_json(session.view())

    return Handler


def session_from_args(args: argparse.Namespace, argv: Sequence[str]) -> Session:
    if args.from_trace:
        given = [o for o, v in (("--servers", args.servers), ("--max-term", args.max_term), ("--max-log", args.max_log),
                                ("--tweak", args.tweak), ("--tweak-file", args.tweak_file), ("--unreduced", args.unreduced),
                                ("--invariant", args.invariant)) if v]
        if given:
            raise BadInput(f"--from takes the model and properties from the trace's recorded command; drop {', '.join(given)}")
        try:
            from raft_check.view import read_itf

            t = read_itf(Path(args.from_trace))
        except viewer.TraceFileError as e:
            raise BadInput(str(e)) from None
        k = len(t.trace) - 1 if args.step is None else args.step
        if k >= len(t.trace):
            raise BadInput(f"--step {k}: {args.from_trace} has steps 0..{len(t.trace) - 1}")
        return Session(t.model, t.properties, t.command, t.trace[: k + 1])
    if args.step is not None:
        raise BadInput("--step needs --from TRACE.itf.json")
    args.servers = 3 if args.servers is None else args.servers
    args.max_term = 4 if args.max_term is None else args.max_term
    args.max_log = 0 if args.max_log is None else args.max_log
    model = cli.make_model(args)
    props = cli.select_properties(model, args.invariant)
    command = cli.command_line(without_options(argv, EXPLORE_ONLY))
    return Session(model, props, command, [Step(None, model.init_states()[0])])


def serve(session: Session, port: int) -> ThreadingHTTPServer:
    try:
        return ThreadingHTTPServer(("127.0.0.1", port), make_handler(session))
    except OSError as e:
        if e.errno == errno.EADDRINUSE:
            raise BadInput(f"port {port} on 127.0.0.1 is already in use; pick another with --port P (--port 0 picks a free one)") from None
        raise BadInput(f"cannot listen on 127.0.0.1 port {port}: {e.strerror}") from None


def main(argv: Sequence[str]) -> int:
    args = build_parser().parse_args(list(argv))
    session = session_from_args(args, argv)
    server = serve(session, args.port)
    url = f"http://127.0.0.1:{server.server_address[1]}/"
    print(f"check explore: serving {session.title().removeprefix('check explore: ')} at {url} (Ctrl-C stops)", flush=True)
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        print("check explore: stopped", file=sys.stderr)
    finally:
        server.server_close()
    return 0
