"""The therapist's flow in headless Chromium (Debian's, through its chromedriver).

Set KNEEVISION_SCREENSHOTS=1 to write the pages' screenshots into docs/web_*.png.
"""

from __future__ import annotations

import io
import json
import os
import shutil
import time
from pathlib import Path

import pytest

from kneevision.report.document import fmt
from tests.web.helpers import REPO, Server, free_port, seed_settings

CHROMIUM, DRIVER = Path("/usr/bin/chromium"), Path("/usr/bin/chromedriver")
pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(
        not (CHROMIUM.exists() and DRIVER.exists()),
        reason="needs Debian's chromium and chromium-driver",
    ),
]
MAX_MB = 5
SHOTS = os.environ.get("KNEEVISION_SCREENSHOTS") == "1"


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    data = tmp_path_factory.mktemp("web") / "data"
    seed_settings(data)
    s = Server(data, None, "--max-upload-mb", str(MAX_MB)).start()
    yield s
    s.stop()


@pytest.fixture(scope="module")
def downloads(tmp_path_factory) -> Path:
    return tmp_path_factory.mktemp("downloads")


@pytest.fixture(scope="module")
def browser(downloads):
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    opts = webdriver.ChromeOptions()
    opts.binary_location = str(CHROMIUM)
    for arg in ("--headless=new", "--no-sandbox", "--disable-dev-shm-usage", "--disable-gpu",
                "--window-size=1280,1000", "--autoplay-policy=no-user-gesture-required",
                "--no-first-run", "--disable-background-networking"):  # fmt: skip
        opts.add_argument(arg)
    opts.add_experimental_option("prefs", {
        "download.default_directory": str(downloads),
        "download.prompt_for_download": False,
        "plugins.always_open_pdf_externally": True,
    })  # fmt: skip
    driver = webdriver.Chrome(service=Service(str(DRIVER)), options=opts)
    driver.set_page_load_timeout(60)
    yield driver
    driver.quit()


def wait(cond, timeout: float = 30, step: float = 0.2, what: str = ""):
    deadline = time.monotonic() + timeout
    while True:
        try:
            value = cond()
        except Exception:  # the page is changing under us
            value = None
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what or cond}")
        time.sleep(step)


def by(driver, css: str):
    from selenium.webdriver.common.by import By

    return driver.find_elements(By.CSS_SELECTOR, css)


def shot(driver, name: str) -> None:
    if not SHOTS:
        return
    from PIL import Image

    img = Image.open(io.BytesIO(driver.get_screenshot_as_png())).convert("RGB")
    img = img.resize((img.width * 3 // 4, img.height * 3 // 4), Image.LANCZOS)
    out = REPO / "docs" / f"web_{name}.png"
    img.quantize(colors=64, method=Image.Quantize.MEDIANCUT).save(out, optimize=True)
    assert out.stat().st_size < 150_000, out


def upload(driver, server: Server, patient: str, clip: Path, date: str) -> None:
    driver.get(f"{server.url}/trials/new?patient={patient}")
    by(driver, "#file")[0].send_keys(str(clip))
    driver.execute_script("document.querySelector('[name=session_date]').value = arguments[0]",
                          date)  # fmt: skip
    by(driver, "#upload")[0].click()


def wait_done_in_queue(driver, server: Server, timeout: float = 240) -> int:
    """On the queue page: the newest trial's progress reaches 100%; its id."""
    wait(lambda: "/queue" in driver.current_url, 60, what="the queue page")
    new = driver.current_url.split("new=")[-1].split(",")[0]
    seen = set()

    def done():
        rows = by(driver, f'#queue tr[data-id="{new}"]')
        if not rows:
            return False
        seen.add(rows[0].find_element("css selector", ".pct").text.strip())
        return rows[0].get_attribute("data-status") in ("done", "failed")

    wait(done, timeout, what=f"trial {new} to end")
    row = by(driver, f'#queue tr[data-id="{new}"]')[0]
    assert row.get_attribute("data-status") == "done", row.text
    assert row.find_element("css selector", ".pct").text.strip() == "100%"
    return int(new)


def test_therapist_flow(browser, server, clips, downloads):
    d = browser
    d.get(server.url + "/")
    assert "Patients" in d.title
    by(d, "#add-patient [name=patient_id]")[0].send_keys("P100")
    by(d, "#add-patient [name=name]")[0].send_keys("Ann Example")
    by(d, "#add-patient button")[0].click()
    wait(lambda: d.current_url.endswith("/patients/P100"), what="the patient page")

    upload(d, server, "P100", clips["bundled"], "2026-11-01")
    shot(d, "queue")
    first = wait_done_in_queue(d, server)

    summary = server.get(f"/api/trials/{first}")[1]["summary"]
    d.get(f"{server.url}/trials/{first}")
    assert by(d, "#flags"), "flags and advice come first"
    rows = by(d, "#numbers tbody tr[data-metric]")
    assert rows
    checked = 0
    for row in rows:
        metric = row.get_attribute("data-metric")
        if row.get_attribute("data-side") == "both":
            want = fmt(metric, summary["bilateral"][metric]["value"])
            assert row.find_element("css selector", ".both-value").text == want
        else:
            for side in ("left", "right"):
                value = ((summary["sides"].get(side) or {}).get(metric) or {}).get("value")
                assert row.find_element("css selector", f".{side}-value").text == fmt(metric, value)
        checked += 1
    assert checked >= 5
    flex = by(d, '#numbers tr[data-metric="peak_knee_flexion_deg"] .left-value')[0].text
    assert flex == fmt("peak_knee_flexion_deg",
                       summary["sides"]["left"]["peak_knee_flexion_deg"]["value"])  # fmt: skip

    video = by(d, "video#overlay")[0]
    wait(lambda: d.execute_script("return arguments[0].readyState", video) >= 2, 30,
         what="the overlay video to load")  # fmt: skip
    assert d.execute_script("return arguments[0].error", video) is None
    duration = d.execute_script("return arguments[0].duration", video)
    assert abs(duration - summary["input"]["duration_s"]) < 0.5
    d.execute_script("arguments[0].play()", video)
    wait(lambda: d.execute_script("return arguments[0].currentTime", video) > 0.3, 20,
         what="the video to play")  # fmt: skip
    d.execute_script("arguments[0].pause()", video)
    shot(d, "trial")

    reps = by(d, "#reps .rep-button")
    assert len(reps) >= 3
    target = float(reps[2].get_attribute("data-seek"))
    assert target == pytest.approx(summary["reps"][2]["start_s"])
    reps[2].click()
    wait(lambda: abs(d.execute_script("return arguments[0].currentTime", video) - target) < 0.1,
         10, what="the video to seek to the repetition")  # fmt: skip

    by(d, "#download-pdf")[0].click()
    pdf = wait(lambda: next((p for p in downloads.glob("*.pdf")), None), 30, what="the PDF")
    wait(lambda: pdf.stat().st_size > 1000 and not list(downloads.glob("*.crdownload")), 30)
    assert pdf.read_bytes()[:5] == b"%PDF-"

    upload(d, server, "P100", clips["short"], "2026-11-15")
    second = wait_done_in_queue(d, server)
    d.get(f"{server.url}/patients/P100")
    shot(d, "patient")
    trends = by(d, ".trend-fig")
    assert trends
    flexion = [t for t in trends if t.get_attribute("data-metric") == "peak_knee_flexion_deg"]
    assert flexion, [t.get_attribute("data-metric") for t in trends]
    left = flexion[0].find_elements("css selector", "circle.side-left")
    dates = {c.get_attribute("data-date") for c in left}
    assert dates == {"2026-11-01", "2026-11-15"}
    assert flexion[0].find_elements("css selector", "circle.side-right")
    by(d, "#compare-form button")[0].click()
    wait(lambda: "/compare" in d.current_url, what="the comparison")
    assert f"a={first}" in d.current_url and f"b={second}" in d.current_url
    row = by(d, '#compare tr[data-metric="peak_knee_flexion_deg"]')[0]
    for cls in ("a-left", "a-right", "b-left", "b-right"):
        assert row.find_element("css selector", f".{cls}").text.endswith("°"), cls
    assert len(by(d, ".side-by-side video")) == 2
    shot(d, "compare")
    for name, path in (("patients", "/patients"), ("new_trial", "/trials/new?patient=P100"),
                       ("settings", "/settings")):  # fmt: skip
        d.get(server.url + path)
        shot(d, name)
    assert server.get("/api/health") == (200, {"status": "ok"})


def test_bad_input_in_the_browser(browser, server, clips, tmp_path):
    d = browser
    server.post_json("/api/patients", {"patient_id": "P200"})
    before = sorted(p.name for p in (server.data / "uploads").rglob("*") if p.is_file())

    upload(d, server, "P200", clips["text"], "2026-11-02")
    msg = wait(lambda: by(d, ".error[role=alert]:not(.hidden)"), 30, what="a message")[0]
    assert "not a video" in msg.text

    big = tmp_path / "huge_clip.mp4"
    shutil.copyfile(clips["short"], big)
    with open(big, "ab") as fh:
        fh.write(b"\0" * (MAX_MB + 1) * 1_000_000)
    upload(d, server, "P200", big, "2026-11-02")
    msg = wait(lambda: by(d, "#client-error:not(.hidden)"), 10, what="the size message")[0]
    assert "larger than the 5 MB limit" in msg.text
    # past the page's own check, the server refuses it too, and says so
    d.execute_script("document.getElementById('trial-form').dataset.maxBytes = '1e12'")
    by(d, "#upload")[0].click()
    msg = wait(lambda: [e for e in by(d, "#client-error") if "limit" in e.text and
                        e.is_displayed()], 60, what="the server's size message")[0]  # fmt: skip
    assert "5 MB" in msg.text
    after = sorted(p.name for p in (server.data / "uploads").rglob("*") if p.is_file())
    assert after == before, "nothing half-written"

    upload(d, server, "P200", clips["empty"], "2026-11-02")
    wait(lambda: "/queue" in d.current_url, 60)
    new = d.current_url.split("new=")[-1]
    wait(lambda: by(d, f'#queue tr[data-id="{new}"][data-status="failed"]'), 120,
         what="the clip with no person to fail")  # fmt: skip
    row = by(d, f'#queue tr[data-id="{new}"]')[0]
    assert "no person" in row.text
    d.get(f"{server.url}/trials/{new}")
    assert "no person" in by(d, "#trial-error")[0].text
    assert server.get("/api/health") == (200, {"status": "ok"})
    body = server.get(f"/api/trials/{new}")[1]
    assert body["status"] == "failed" and json.dumps(body["error"]).count("\\n") == 0


def test_lan_login_in_the_browser(browser, tmp_path):
    """Served beyond 127.0.0.1 (127.0.0.2 counts, and stays on this computer): log in first."""
    from kneevision.web import security
    from kneevision.web.db import WebDB

    data = tmp_path / "lan"
    seed_settings(data)
    with WebDB(data) as db:
        security.add_user(db, "anna", "correct horse battery")
    s = Server(data, free_port(), "--host", "127.0.0.2").start()
    try:
        d = browser
        d.get(s.url + "/patients")
        assert "Log in" in d.title and not by(d, "#patients")
        for password in ("wrong password", "correct horse battery"):
            by(d, "[name=name]")[0].send_keys("anna")
            by(d, "[name=password]")[0].send_keys(password)
            by(d, "form[action='/login'] button")[0].click()
            wait(lambda: by(d, "h1"), what="an answer")
            if password.startswith("wrong"):
                assert "wrong name or password" in by(d, ".error")[0].text
        wait(lambda: by(d, "#patients"), what="the patients page after the login")
        assert "anna" in by(d, "header .who")[0].text
        assert s.get("/api/patients")[0] == 401  # the browser's cookie is not ours
        by(d, "header .logout button")[0].click()
        wait(lambda: "Log in" in d.title, what="the login page after logging out")
    finally:
        s.stop()
