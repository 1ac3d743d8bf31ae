"""The trace viewer and `check explore` in a real browser: Debian's Chromium, driven by selenium (tests/browser.py).

Skipped, with the reason, where Chromium or its driver is not installed; CI
(.ci/run) installs both.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import browser
import pytest

from raft_check.view import read_itf

pytestmark = pytest.mark.skipif(bool(browser.missing()), reason=browser.missing() or "browser present")

ROOT = Path(__file__).resolve().parent.parent
FIG8 = ROOT / "counterexamples" / "commit-old-terms" / "LeaderCompleteness_s3_t4_l1"
VOTE = ROOT / "counterexamples" / "vote-not-persisted" / "ElectionSafety_s3_t1"

SERVERS_JS = "return [...document.querySelectorAll('#diagram g.server')].map(g => Object.assign({}, g.dataset));"


@pytest.fixture(scope="module")
def driver() -> Iterator[Any]:
    d, profile = browser.chromium()
    d.set_page_load_timeout(30)
    try:
        yield d
    finally:
        d.quit()
        shutil.rmtree(profile, ignore_errors=True)


def expected_servers(state: dict[str, Any]) -> list[dict[str, str]]:
    """What the diagram's data- attributes must say for each server in an ITF state."""
    def at(var: str, name: str) -> Any:
        return dict(state[var]["#map"])[name]

    names = sorted((n for n, _ in state["role"]["#map"]), key=lambda n: int(n[1:]))
    return [{"server": n, "role": at("role", n), "term": at("currentTerm", n)["#bigint"], "voted": at("votedFor", n),
             "votes": ",".join(sorted(at("votesGranted", n)["#set"], key=lambda s: int(s[1:]))),
             "log": ",".join(e["#bigint"] for e in at("log", n)), "commit": at("commitIndex", n)["#bigint"]} for n in names]


def shown_step(driver: Any) -> int:
    return int(driver.find_element("id", "step-num").get_attribute("data-step"))


def severe(driver: Any) -> list[Any]:
    return [e for e in driver.get_log("browser") if e["level"] == "SEVERE"]


def press(driver: Any, key: str) -> None:
    from selenium.webdriver.common.action_chains import ActionChains

    ActionChains(driver).send_keys(key).perform()


def test_figure8_viewer_shows_each_state_of_the_itf_file(driver: Any) -> None:
    """Stepping with the keyboard from step 0, the DOM's roles, terms, votes and logs equal state K of the ITF file."""
    from selenium.webdriver.common.keys import Keys

    states = json.loads(FIG8.with_suffix(".itf.json").read_text())["states"]
    driver.get(FIG8.with_suffix(".html").as_uri())
    assert shown_step(driver) == 0
    checked = []
    for k in range(len(states)):
        if k in (0, 3, 9, 13, 17, 20, 24, 25):
            assert shown_step(driver) == k
            assert driver.execute_script(SERVERS_JS) == expected_servers(states[k]), f"step {k}"
            assert states[k]["#meta"]["action"] in driver.find_element("id", "action").text
            checked.append(k)
        press(driver, Keys.ARROW_RIGHT)
    assert shown_step(driver) == 25 and len(checked) == 8  # the right arrow stops at the last step
    violation = driver.find_element("id", "violation")
    assert violation.is_displayed() and violation.get_attribute("data-property") == "LeaderCompleteness"
    assert "LeaderCompleteness violated" in violation.text and "S2, leader of term 4" in violation.text
    involved = driver.execute_script("return [...document.querySelectorAll('#diagram g.server.involved')].map(g => g.dataset.server)")
    assert involved == ["S2"]
    press(driver, Keys.HOME)
    assert shown_step(driver) == 0 and not violation.is_displayed()
    press(driver, Keys.END)
    press(driver, Keys.ARROW_LEFT)
    assert shown_step(driver) == 24
    driver.find_element("id", "prev").click()
    driver.find_element("id", "next").click()
    driver.find_element("id", "next").click()
    assert shown_step(driver) == 25
    assert severe(driver) == []


def test_slider_lanes_and_hidden_messages(driver: Any) -> None:
    page = FIG8.with_suffix(".html").read_text()
    data = json.loads(page.split('<script id="trace-data" type="application/json">', 1)[1].split("</script>", 1)[0].replace("<\\/", "</"))
    driver.get(FIG8.with_suffix(".html").as_uri() + "#step=7")
    assert shown_step(driver) == 7
    driver.execute_script("const s = document.getElementById('slider'); s.value = 12; s.dispatchEvent(new Event('input'));")
    assert shown_step(driver) == 12
    driver.find_element("css selector", "#lanes g.lane-row[data-step='4']").click()  # the swim lanes are linked to the slider
    assert shown_step(driver) == 4
    # A step with a folded request in flight that is not the one delivered: hidden until the toggle is on.
    k = next(k for k, st in enumerate(data["steps"])
             if any(data["messages"][m]["folded"] and m != st["delivered"] for m in st["messages"]))
    driver.get(FIG8.with_suffix(".html").as_uri() + f"#step={k}")
    folded = [e for e in driver.find_elements("css selector", "#diagram g.msg.folded") if e.get_attribute("data-key") != data["steps"][k]["delivered"]]
    assert folded and not any(e.is_displayed() for e in folded)
    driver.find_element("id", "show-hidden").click()
    assert all(e.is_displayed() for e in folded)
    assert "folded request" in driver.find_element("id", "note").text
    press(driver, " ")  # play
    assert driver.find_element("id", "play").text.startswith("⏸")
    press(driver, " ")
    assert driver.find_element("id", "play").text.startswith("▶")
    assert severe(driver) == []


@pytest.fixture
def explore_url() -> Iterator[str]:
    argv = ["--servers", "3", "--max-term", "1", "--tweak", "vote-not-persisted", "--invariant", "ElectionSafety", "--invariant", "LeaderElected"]
    proc = subprocess.Popen([sys.executable, "-m", "raft_check", "explore", *argv, "--port", "0"], cwd=ROOT, text=True,
                            env={**os.environ, "PYTHONPATH": str(ROOT)}, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    try:
        assert proc.stdout is not None
        line = proc.stdout.readline()
        assert " at http://127.0.0.1:" in line, line + (proc.stderr.read() if proc.stderr and proc.poll() is not None else "")
        yield line.split(" at ", 1)[1].split()[0]
    finally:
        proc.terminate()
        proc.communicate(timeout=30)


def test_explore_drives_the_cluster_into_the_vote_not_persisted_violation(driver: Any, explore_url: str, tmp_path: Path) -> None:
    from selenium.webdriver.support.ui import WebDriverWait

    states = json.loads(VOTE.with_suffix(".itf.json").read_text())["states"]
    driver.get(explore_url)
    wait = WebDriverWait(driver, 20)
    wait.until(lambda d: d.find_elements("css selector", "#actions button.action"))
    assert driver.find_element("css selector", "#props li[data-prop='ElectionSafety']").get_attribute("data-value") == "holds"
    for k, st in enumerate(states[1:], start=1):
        action = st["#meta"]["action"]
        button = driver.execute_script(
            "return [...document.querySelectorAll('#actions button.action')].find(b => b.dataset.action === arguments[0]) || null", action)
        assert button is not None, f"step {k}: {action} is not offered"
        button.click()
        wait.until(lambda d, k=k: shown_step(d) == k)
        assert driver.execute_script(SERVERS_JS) == expected_servers(st), f"step {k}"
    violation = driver.find_element("id", "violation")
    wait.until(lambda d: "ElectionSafety violated" in violation.text)
    assert driver.find_element("css selector", "#props li[data-prop='ElectionSafety']").get_attribute("data-value") == "violated"
    driver.find_element("id", "back").click()
    wait.until(lambda d: shown_step(d) == len(states) - 2)
    assert not violation.is_displayed()
    driver.find_element("id", "forward").click()
    wait.until(lambda d: "ElectionSafety violated" in violation.text)
    # the path so far, saved as ITF, is the committed trace
    with urllib.request.urlopen(explore_url + "api/itf", timeout=10) as r:
        saved = json.loads(r.read())
    assert [s["#meta"]["action"] for s in saved["states"]] == [s["#meta"]["action"] for s in states]
    (tmp_path / "explored.itf.json").write_text(json.dumps(saved))
    back = read_itf(tmp_path / "explored.itf.json")
    assert len(back.trace) == len(states) and back.violated is None
    assert severe(driver) == []
