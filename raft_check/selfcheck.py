"""The soundness self-check of a tweak: its reductions and symmetry against the plain search, at small bounds.

A tweak file keeps a reduction when it overrides none of the hooks the
reduction's argument rests on, or when it says ``keep_reductions(...)``; the
symmetry reduction assumes that it treats servers alike.  Either claim can be
wrong, and a wrong one gives a false "holds".  So before a tweaked run with
any reduction or symmetry on, :func:`run` searches the tweaked model
completely at small bounds (:func:`small_bounds`, never above the run's own):

- unreduced and without symmetry: the reference;
- with each reduction that the run uses, alone, and with all of them together
  (no symmetry): the set of server variables and ghost reached, and the verdict
  of every state property, must be those of the reference (as
  ``tests/test_reductions.py`` and ``tests/test_log_reductions.py`` check for
  the unmodified model);
- with symmetry, as the run has its reductions: the stored representatives must
  be exactly the representatives of the plain search's states, with the same
  verdicts.

A difference refuses the run and names the reduction (or symmetry) to drop.
Agreement at small bounds is a guard, not a proof: a reduction may still be
unsound at the run's bounds.  Action properties (TermMonotonic,
LeaderAppendOnly) are not compared; the server states they read are.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Any

from checker.bfs import INCOMPLETE
from checker.model import Kind
from checker.result import Result
from models.raft import REDUCTIONS, Committed, Raft, ServerVars, State

Projection = tuple[tuple[ServerVars, ...], tuple[Committed, ...]]

ELECTION_BOUNDS = ((2, 2, 0), (3, 1, 0))
LOG_BOUNDS = ((2, 2, 1), (2, 1, 2))
"""The bounds of the self-check: each search finishes in well under a second unreduced (this machine),
and between them they exercise elections with two terms, three voters, and logs with two terms or two entries."""


def small_bounds(model: Raft) -> list[tuple[int, int, int]]:
    """The self-check's bounds for ``model``'s layer, each clipped to the run's own bounds."""
    base = LOG_BOUNDS if model.max_log > 0 else ELECTION_BOUNDS
    out: list[tuple[int, int, int]] = []
    for n, t, log in base:
        b = (min(n, model.n), min(t, model.max_term), min(log, model.max_log))
        if b not in out:
            out.append(b)
    return out


@dataclass
class Finding:
    """A difference between a reduced (or symmetric) search and the plain one."""

    culprit: str  # a reduction name, or "symmetry"
    bounds: tuple[int, int, int]
    detail: str


@dataclass
class Report:
    checked: list[str]  # what was compared: reduction names and "symmetry"
    bounds: list[tuple[int, int, int]]
    searches: int = 0
    states: int = 0
    seconds: float = 0.0
    findings: list[Finding] = field(default_factory=list)
    skipped: list[tuple[int, int, int]] = field(default_factory=list)  # bounds whose plain search exceeds MAX_STATES

    @property
    def ok(self) -> bool:
        return not self.findings


@dataclass
class _Search:
    count: int
    projections: set[Projection]  # server variables and ghost of every reached state
    verdicts: dict[str, bool]  # property -> holds (always) / satisfied (sometimes)


MAX_STATES = 60_000
"""A bound of the self-check whose search stores more states than this is skipped (and the header says so): the check
must stay a matter of seconds."""


class _TooBig(Exception):
    pass


def _complete(result: Result[Any, Any]) -> None:
    """Go on only after a complete search: a capped one is _TooBig (the bound is skipped, and the report says so); an
    interrupted one (^C or kill, which the search caught) raises KeyboardInterrupt again, so that the command stops as
    interrupted instead of skipping the bound and running on."""
    if result.status == INCOMPLETE:
        if result.incomplete_reason == "interrupted":
            raise KeyboardInterrupt
        raise _TooBig


def _search(model: Raft, symmetry: bool) -> _Search:
    """A complete search of ``model`` with no property checked; then every state property on every stored state.

    Raises _TooBig if it would store more than MAX_STATES states.
    """
    from models.raft_pins import RaftPins, unsupported

    props = [p for p in model.properties() if p.kind is not Kind.ACTION]
    verdicts: dict[str, bool] = {}
    if unsupported(model) is not None:  # not for a tweak file, which overrides hooks only
        from checker.bfs import Explorer

        ex = Explorer(model, [], symmetry=symmetry, max_states=MAX_STATES)
        _complete(ex.run())
        states = list(ex.states)
        for p in props:
            verdicts[p.name] = (all if p.kind is Kind.ALWAYS else any)(p.check(x) for x in states)
        return _Search(len(states), {(x.servers, x.committed) for x in states}, verdicts)
    from checker.compiled import CompiledExplorer

    pins = RaftPins(model, props, symmetry=symmetry)
    cx = CompiledExplorer(_Unchecked(pins), symmetry=symmetry, max_states=MAX_STATES, workers=1)
    _complete(cx.run())
    vectors = list(cx.vectors())
    memo: dict[tuple[int, int, tuple[int, ...]], bool] = {}
    for k, sp in enumerate(pins.state_props):  # memoised part by part, as the search itself checks them
        def holds(v: tuple[int, ...], k: int = k, parts: tuple[tuple[int, ...], ...] = sp.parts) -> bool:
            for j, part in enumerate(parts):
                key = (k, j, tuple(v[q] for q in part))
                got = memo.get(key)
                if got is None:
                    got = memo[key] = pins.holds(k, j, key[2])
                if not got:
                    return False
            return True
        verdicts[sp.prop.name] = (all if sp.prop.kind is Kind.ALWAYS else any)(holds(v) for v in vectors)
    n, ghost = pins.n, pins.ghost
    codes = {(v[:n], v[ghost]) for v in vectors}
    return _Search(len(vectors), {(tuple(pins.srvs[c] for c in srv), pins.comms[comm]) for srv, comm in codes}, verdicts)


class _Unchecked:
    """A :class:`checker.pins.PinsModel` with no property: the self-check's searches store every state, then judge them."""

    state_props: tuple[()] = ()
    action_props: tuple[()] = ()
    properties: tuple[()] = ()

    def __init__(self, pins: Any) -> None:
        self._pins = pins

    def __getattr__(self, name: str) -> Any:
        return getattr(self._pins, name)


def _only(cls: type[Raft], bounds: tuple[int, int, int], on: set[str]) -> Raft:
    return cls(*bounds, eager_votes="eager-votes" in on, prune="pruning" in on, fold="folding" in on,
               eager_appends="eager-appends" in on)


def _verdict_diff(ref: _Search, got: _Search) -> str:
    for name, held in ref.verdicts.items():
        if got.verdicts.get(name) != held:
            word = {True: "holds", False: "fails"}
            return f"gives another verdict: {name} {word[held]} in the plain search and {word[not held]} in this one"
    return ""


def _projection_diff(ref: _Search, got: _Search) -> str:
    extra, missing = len(got.projections - ref.projections), len(ref.projections - got.projections)
    parts = []
    if extra:
        parts.append(f"reaches {extra:,} server states that the plain search never reaches")
    if missing:
        parts.append(f"misses {missing:,} server states that the plain search reaches")
    return " and ".join(parts)


def run(cls: type[Raft], model: Raft, symmetry: bool) -> Report:
    """The self-check of the reductions ``model`` (of class ``cls``) uses, and of ``symmetry``; see the module docstring.

    Per bound: the plain search, the search with all the run's reductions,
    and that one with symmetry.  Only when the reduced search differs are
    the reductions searched one at a time, to name the one to drop.
    """
    on = {name for name, is_on in model.reductions.items() if is_on}
    report = Report([r for r in REDUCTIONS if r in on] + (["symmetry"] if symmetry else []), small_bounds(model))
    start = time.perf_counter()

    def search(m: Raft, sym: bool = False) -> _Search:
        got = _search(m, sym)
        report.searches += 1
        report.states += got.count
        return got

    def difference(ref: _Search, got: _Search) -> str:
        return _projection_diff(ref, got) or _verdict_diff(ref, got)

    def check_at(b: tuple[int, int, int]) -> None:
        layer_on = {r for r in on if b[2] > 0 or not REDUCTIONS[r].log_layer_only}
        ref = search(_only(cls, b, set()))
        reduced = ref
        if layer_on:
            reduced = search(_only(cls, b, layer_on))
            why = difference(ref, reduced)
            if why:
                alone = [(r, difference(ref, search(_only(cls, b, {r})))) for r in REDUCTIONS if r in layer_on]
                culprits = [(r, w) for r, w in alone if w]
                if len(layer_on) > 1 and not culprits:  # only together: name them together
                    culprits = [("+".join(r for r in REDUCTIONS if r in layer_on), why)]
                report.findings.extend(Finding(r, b, w) for r, w in culprits or [(next(iter(layer_on)), why)])
        if symmetry:
            m = _only(cls, b, layer_on)
            sym = search(m, sym=True)
            images, stored = orbits(m, reduced.projections), orbits(m, sym.projections)
            why = ""
            if stored != images:
                extra, missing = len(stored - images), len(images - stored)
                why = (f"reaches {extra:,} orbits of server states that the search without symmetry never reaches, "
                       f"and misses {missing:,}: the tweak treats servers differently")
            why = why or _verdict_diff(reduced, sym)
            if why:
                report.findings.append(Finding("symmetry", b, why))

    for b in report.bounds:
        try:
            check_at(b)
        except _TooBig:
            report.skipped.append(b)
    report.seconds = time.perf_counter() - start
    return report


def orbits(model: Raft, projections: set[Projection]) -> set[State]:
    """The orbit (under server renaming) of each projected state, as its representative without messages."""
    return {model.representative(State(servers, (), committed)) for servers, committed in projections}


def fmt_bounds(b: tuple[int, int, int]) -> str:
    return f"servers={b[0]} max-term={b[1]} max-log={b[2]}"


def summary(report: Report) -> str:
    """One line for the ``check`` header."""
    what = ", ".join(report.checked)
    at = "; ".join(fmt_bounds(b) for b in report.bounds)
    head = (f"Self-check: {what} against the plain search at {at} ({report.searches} complete searches, "
            f"{report.states:,} states, {report.seconds:.1f} s): ")
    skipped = "".join(f" Skipped {fmt_bounds(b)}: more than {MAX_STATES:,} states." for b in report.skipped)
    if report.skipped and len(report.skipped) == len(report.bounds):
        return head + f"nothing compared.{skipped} Nothing was checked."
    if report.ok:
        return head + f"same server states and verdicts.{skipped} A guard at small bounds, not a proof."
    return head + "DIFFERENT"


def refusal(report: Report, tweak_file: str | None) -> str:
    """The message that refuses a run whose self-check found a difference: what differs, and what to drop."""
    f = report.findings[0]
    lines = [f"the self-check ({report.searches} complete searches at small bounds, {report.seconds:.1f} s) refuses this run: "
             f"with {f.culprit}, the tweaked model at {fmt_bounds(f.bounds)} {f.detail}."]
    for g in report.findings[1:]:
        lines.append(f"Also with {g.culprit} at {fmt_bounds(g.bounds)}: {g.detail}")
    culprits = list(dict.fromkeys(c for g in report.findings for c in g.culprit.split("+")))
    singles = {g.culprit for g in report.findings}
    reductions = [c for c in culprits if c != "symmetry" and (c in singles or not any(s in REDUCTIONS for s in singles))]
    fixes = []
    if reductions:
        names = ", ".join(map(repr, reductions))
        where = f" in {tweak_file}" if tweak_file else ""
        fixes.append(f"drop {names}: remove {'it' if len(reductions) == 1 else 'them'} from keep_reductions(...){where}, "
                     f"or add drop_reductions({names}); --unreduced drops every reduction")
    if "symmetry" in culprits:
        fixes.append("run with --no-symmetry (the tweak treats servers differently)")
    lines.append("Fix: " + "; ".join(fixes) + ". (--trust-reductions skips this check, at your own risk.)")
    return " ".join(lines)


def reduction_lines(model: Raft, unreduced: bool) -> list[str]:
    """The ``check`` header's account of the model's reductions: every one, on or off, with the reason."""
    rows = []
    for name, r in REDUCTIONS.items():
        on = model.reductions[name]
        why = model.reduction_notes[name]
        if not on and unreduced and why.startswith("turned off"):
            why = "turned off by --unreduced"
        rows.append(f"{'on ' if on else 'off'} {name:<14} {r.title}" + (f" -- {why}" if why else ""))
    return ["Reductions: " + rows[0], *("            " + row for row in rows[1:])]


def check_line(trusted: bool, report: Report | None, why_none: str = "") -> str:
    """The header line about the self-check: its summary, that it was skipped, or why there is none."""
    if trusted:
        return ("Self-check: skipped (--trust-reductions): nothing was checked; the reductions and symmetry above are "
                "trusted as the tweak declares them")
    if report is None:
        return f"Self-check: none ({why_none})"
    return summary(report)


def json_fields(model: Raft, trusted: bool, report: Report | None) -> dict[str, Any]:
    """The ``--json`` summary's account of the reductions and the self-check."""
    check: dict[str, Any] | None = None
    if report is not None:
        check = {"checked": report.checked, "bounds": [list(b) for b in report.bounds], "searches": report.searches,
                 "states": report.states, "seconds": round(report.seconds, 3), "agrees": report.ok}
    return {"reductions": dict(model.reductions), "reduction_notes": dict(model.reduction_notes),
            "self_check": "skipped (--trust-reductions)" if trusted else check}
