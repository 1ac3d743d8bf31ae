"""The trace viewer without a browser: `check view` round-trips, bad input is refused, the page's data is the trace,
`check explore`'s session takes real steps, and the committed gallery links every viewer.

(tests/test_viewer_browser.py opens the pages in Chromium.)
"""

from __future__ import annotations

import copy
import json
import re
import socket
from pathlib import Path
from typing import Any

import pytest

from checker import console
from models import tweaks, viewer
from raft_check import cli, explore, gallery
from raft_check.rows import Row
from raft_check.view import read_itf

ROOT = Path(__file__).resolve().parent.parent
ITFS = sorted((ROOT / "counterexamples").glob("*/*.itf.json"))
VOTE = ROOT / "counterexamples" / "vote-not-persisted" / "ElectionSafety_s3_t1.itf.json"
FIG8 = ROOT / "counterexamples" / "commit-old-terms" / "LeaderCompleteness_s3_t4_l1.itf.json"


def page_of(itf: Path) -> Path:
    return itf.with_name(itf.name.removesuffix(".itf.json") + ".html")


def embedded(html: str) -> dict[str, Any]:
    m = re.search(r'<script id="trace-data" type="application/json">(.*?)</script>', html, re.S)
    assert m, "no embedded trace data"
    data: dict[str, Any] = json.loads(m.group(1).replace("<\\/", "</"))
    return data


@pytest.mark.parametrize("itf", ITFS, ids=[f"{p.parent.name}/{p.name.removesuffix('.itf.json')}" for p in ITFS])
def test_view_reproduces_the_committed_viewer(itf: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """Every counterexample has its viewer, and `check view` of the ITF file alone writes exactly that page."""
    committed = page_of(itf)
    assert committed.exists(), f"{committed.name} is missing: run `python -m raft_check view {itf.relative_to(ROOT)}`"
    # (after a change to the viewer or the trace text: `python -m raft_check view counterexamples/*/*.itf.json`)
    out = tmp_path / "v.html"
    assert cli.main(["view", str(itf), "-o", str(out)]) == 0
    assert "Wrote" in capsys.readouterr().out
    assert out.read_text() == committed.read_text()


def test_page_data_is_the_trace() -> None:
    """Per step, the page's server variables and messages are those of the ITF state; the last step names the violation."""
    doc = json.loads(FIG8.read_text())
    data = embedded(page_of(FIG8).read_text())
    assert len(data["steps"]) == len(doc["states"]) == 26
    for row, st in zip(data["steps"], doc["states"], strict=True):
        assert row["action"] == st["#meta"]["action"]
        for i, name in enumerate(data["servers"]):
            srv = row["servers"][i]
            assert srv["role"] == dict(st["role"]["#map"])[name]
            assert str(srv["currentTerm"]) == dict(st["currentTerm"]["#map"])[name]["#bigint"]
            assert [str(e) for e in srv["log"]] == [e["#bigint"] for e in dict(st["log"]["#map"])[name]]
            assert sorted(srv["votesGranted"]) == sorted(dict(st["votesGranted"]["#map"])[name]["#set"])
        assert len(row["messages"]) == len(st["messages"]["#set"])
    assert [v["name"] for v in data["violations"]] == ["LeaderCompleteness"]
    assert data["violations"][0]["servers"] == ["S2"]  # the term-4 leader without the committed entry
    assert data["steps"][0]["delivered"] is None and data["steps"][1]["sent"]


def test_page_marks_restart_delivery_and_changes() -> None:
    data = embedded(page_of(VOTE).read_text())
    restart = data["steps"][4]
    assert restart["name"] == "Restart" and restart["restart"] == "S3" and restart["changed"] == {"S3": ["votedFor"]}
    handle = data["steps"][3]
    assert handle["delivered"] in data["messages"] and data["messages"][handle["delivered"]]["dst"] == "S3"
    assert handle["sent"] and data["messages"][handle["sent"][0]]["granted"] is True
    assert data["violations"][0]["servers"] == ["S1", "S2"]


def test_page_is_self_contained() -> None:
    for itf in ITFS:
        html = page_of(itf).read_text()
        assert not re.search(r'(src|href)="(https?:)?//', html), f"{page_of(itf).name} refers to the network"


def write(tmp_path: Path, doc: Any, name: str = "t.itf.json") -> Path:
    p = tmp_path / name
    p.write_text(doc if isinstance(doc, str) else json.dumps(doc))
    return p


def view_error(path: Path, capsys: pytest.CaptureFixture[str]) -> str:
    assert cli.main(["view", str(path), "-o", str(path.with_suffix(".html"))]) == console.EXIT_BAD_INPUT
    err = capsys.readouterr().err
    assert err.count("\n") == 1, err
    return err


def test_view_refuses_what_is_not_a_trace_of_this_model(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    good = json.loads(VOTE.read_text())
    assert "not JSON" in view_error(write(tmp_path, "{oops"), capsys)
    assert "no non-empty 'states'" in view_error(write(tmp_path, {"states": []}), capsys)
    assert "cannot read" in view_error(tmp_path / "absent.itf.json", capsys)
    other = copy.deepcopy(good)
    other["#meta"]["description"] = "a TLC trace"
    assert "names no 'check' command" in view_error(write(tmp_path, other), capsys)
    novar = copy.deepcopy(good)
    novar["vars"].remove("votedFor")
    assert "votedFor missing" in view_error(write(tmp_path, novar), capsys)
    extra_var = copy.deepcopy(good)
    extra_var["vars"].append("leaderId")
    assert "leaderId in 'vars' are not variables of the model" in view_error(write(tmp_path, extra_var), capsys)
    extra_field = copy.deepcopy(good)
    extra_field["states"][1]["leaderId"] = 2
    assert "state 1 has field(s) leaderId" in view_error(write(tmp_path, extra_field), capsys)
    wrong_const = copy.deepcopy(good)
    wrong_const["states"][0]["MaxTerm"] = {"#bigint": "7"}
    assert 'state 0 sets MaxTerm to {"#bigint": "7"}' in view_error(write(tmp_path, wrong_const), capsys)
    ghost = copy.deepcopy(good)  # the history ghost in a trace of a model without history
    ghost["states"][0]["elected"] = {"#set": []}
    assert "state 0 has field(s) elected" in view_error(write(tmp_path, ghost), capsys)
    skipped = copy.deepcopy(good)
    del skipped["states"][2]
    assert "step 2 is not a transition" in view_error(write(tmp_path, skipped), capsys)
    badrole = copy.deepcopy(good)
    badrole["states"][1]["role"]["#map"][0][1] = "King"
    assert "'King'" in view_error(write(tmp_path, badrole), capsys)
    badcmd = copy.deepcopy(good)
    badcmd["#meta"]["description"] = good["#meta"]["description"].replace("vote-not-persisted", "no-such-tweak")
    assert "not valid" in view_error(write(tmp_path, badcmd), capsys)
    assert not list(tmp_path.glob("*.html"))
    good_copy = write(tmp_path, good, "good.itf.json")
    assert cli.main(["view", str(good_copy), str(write(tmp_path, "[]", "bad.itf.json"))]) == console.EXIT_BAD_INPUT
    assert "bad.itf.json: not an ITF trace" in capsys.readouterr().err
    assert not list(tmp_path.glob("*.html"))  # a bad file among several changes no page
    assert cli.main(["view", str(good_copy), str(good_copy), "-o", str(tmp_path / "x.html")]) == console.EXIT_BAD_INPUT
    assert "-o names one page" in capsys.readouterr().err
    assert cli.main(["view", str(good_copy)]) == 0 and (tmp_path / "good.html").exists()


def test_check_writes_the_viewer(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    argv = ["--servers", "2", "--max-term", "1", "--tweak", "half-quorum", "--invariant", "ElectionSafety"]
    assert cli.main([*argv, "--out", str(tmp_path), "--quiet"]) == console.EXIT_VIOLATION
    out = capsys.readouterr().out
    page = tmp_path / "half-quorum" / "ElectionSafety_s2_t1.html"
    assert page.exists() and str(page) in out
    data = embedded(page.read_text())
    assert data["command"] == "check " + " ".join(argv) and data["violations"][0]["name"] == "ElectionSafety"


# ------------------------------------------------------------------ explore

def test_explore_session_follows_a_trace_into_the_violation() -> None:
    doc = json.loads(VOTE.read_text())
    args = explore.build_parser().parse_args(["--servers", "3", "--max-term", "1", "--tweak", "vote-not-persisted"])
    s = explore.session_from_args(args, ["--servers", "3", "--max-term", "1", "--tweak", "vote-not-persisted"])
    for st in doc["states"][1:]:
        view = s.view()
        assert {p["name"]: p["value"] for p in view["properties"]}["ElectionSafety"] == "holds"
        texts = [a["text"] for a in view["enabled"]]
        s.take(texts.index(st["#meta"]["action"]))
    view = s.view()
    values = {p["name"]: p["value"] for p in view["properties"]}
    assert values["ElectionSafety"] == "violated" and values["LeaderElected"] == "seen"
    assert [v["name"] for v in view["trace"]["violations"]] == ["ElectionSafety"]
    # back and forward
    s.back()
    assert {p["name"]: p["value"] for p in s.view()["properties"]}["ElectionSafety"] == "holds" and s.view()["canForward"]
    s.forward()
    assert len(s.path) == len(doc["states"]) and not s.view()["canForward"]
    with pytest.raises(ValueError, match="no enabled action"):
        s.take(999)


def test_explore_saves_a_path_that_view_and_from_read_back(tmp_path: Path) -> None:
    args = explore.build_parser().parse_args(["--from", str(VOTE), "--step", "4"])
    s = explore.session_from_args(args, [])
    assert len(s.path) == 5 and s.path[-1].action is not None and s.path[-1].action.name == "Restart"
    s.take(0)
    saved = write(tmp_path, s.itf(), "path.itf.json")
    back = read_itf(saved)
    assert [st.state for st in back.trace] == [st.state for st in s.path] and back.violated is None
    assert back.command == s.command
    html = viewer.html_for_itf(back)
    assert embedded(html)["steps"][-1]["action"] == "Restart(S1)"


def test_explore_bad_input(capsys: pytest.CaptureFixture[str]) -> None:
    assert cli.main(["explore", "--from", str(VOTE), "--servers", "2"]) == console.EXIT_BAD_INPUT
    assert "drop --servers" in capsys.readouterr().err
    assert cli.main(["explore", "--from", str(VOTE), "--step", "10"]) == console.EXIT_BAD_INPUT
    assert "steps 0..9" in capsys.readouterr().err
    assert cli.main(["explore", "--step", "1"]) == console.EXIT_BAD_INPUT
    assert "--step needs --from" in capsys.readouterr().err


def test_explore_port_in_use(capsys: pytest.CaptureFixture[str]) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        assert cli.main(["explore", "--servers", "2", "--max-term", "1", "--port", str(port)]) == console.EXIT_BAD_INPUT
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and f"port {port} on 127.0.0.1 is already in use" in err


# ------------------------------------------------------------------ gallery

def test_committed_gallery_links_every_viewer() -> None:
    index = (ROOT / "counterexamples" / "index.html").read_text()
    rows = re.findall(r"<tr[^>]*><td><code>([\w-]+)</code>", index)
    assert rows == ["raft", *[n for n, t in tweaks.BUILTIN.items() if t.searched and not t.search_time],
                    *[n for n, t in tweaks.BUILTIN.items() if not t.searched or t.search_time]]
    links = re.findall(r'href="([^"]+\.html)"', index)
    assert sorted(links) == sorted(page_of(p).relative_to(ROOT / "counterexamples").as_posix() for p in ITFS)
    # The rows defend does not run say the search time their tweak declares now (regenerated by `check defend`).
    import html

    text = html.unescape(index)
    for t in tweaks.BUILTIN.values():
        if t.search_time:
            assert f"the search takes {t.search_time}" in text, f"counterexamples/index.html is stale for {t.name}: run check defend"


def test_gallery_rows(tmp_path: Path) -> None:
    page = tmp_path / "vote-twice" / "ElectionSafety_s2_t1.html"
    page.parent.mkdir()
    page.write_text("")
    rows = [Row("raft", "(none)", (3, 3, 0), "holds", "holds", None, 10, 0.1),
            Row("vote-twice", "can_grant_vote", (2, 1, 0), "ElectionSafety", "ElectionSafety", 8, 42, 0.1, (page,)),
            Row("half-quorum", "has_quorum", (2, 1, 0), "ElectionSafety", "holds", None, 15, 0.1)]
    html = gallery.write_index(tmp_path, rows, []).read_text()
    assert 'href="vote-twice/ElectionSafety_s2_t1.html"' in html and ">8<" in html
    assert 'class="mismatch"' in html and "(expected ElectionSafety)" in html


def test_a_viewer_failure_loses_no_trace(tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch) -> None:
    def broken_page(*args: Any) -> str:
        raise RuntimeError("template missing")

    monkeypatch.setattr(viewer, "counterexample_html", broken_page)
    argv = ["--servers", "2", "--max-term", "1", "--tweak", "half-quorum", "--invariant", "ElectionSafety"]
    assert cli.main([*argv, "--out", str(tmp_path), "--quiet"]) == console.EXIT_VIOLATION
    out, err = capsys.readouterr()
    assert "could not be written (RuntimeError: template missing)" in err and "VIOLATED: ElectionSafety" in out
    folder = tmp_path / "half-quorum"
    assert sorted(p.name for p in folder.iterdir()) == ["ElectionSafety_s2_t1.itf.json", "ElectionSafety_s2_t1.txt"]


def test_view_round_trips_a_trace_with_the_history_ghost(tmp_path: Path) -> None:
    """A trace of a model with the ghost ``elected`` (ElectionSafetyHistory) reads back with its ghost: without it no step
    after a leader's election would be a transition of that model."""
    argv = ["--servers", "2", "--max-term", "1", "--tweak", "term-not-persisted", "--invariant", "ElectionSafetyHistory"]
    assert cli.main([*argv, "--out", str(tmp_path), "--quiet"]) == 1
    itf = next(tmp_path.glob("*/ElectionSafetyHistory_*.itf.json"))
    assert '"elected"' in itf.read_text()
    assert cli.main(["view", str(itf), "-o", str(tmp_path / "again.html")]) == 0
    assert (tmp_path / "again.html").read_text() == itf.with_suffix("").with_suffix(".html").read_text()
