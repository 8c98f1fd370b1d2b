"""`tutor serve` in a real headless Chromium: the page loads the tutor, a key press changes it."""

from __future__ import annotations

import asyncio
import contextlib
import os
import time
from pathlib import Path

import pytest

from .cdp import CHROMIUM, INSTALL, Page, chromium, received_text
from .server import Served, served

HOME_TEXT = "Decoupling application tiers"  # lab 01's title, listed on the home screen
HELP_TEXT = "Everywhere"  # a heading of the help screen that `?` opens


def require_chromium() -> None:
    if CHROMIUM.exists():
        return
    reason = f"Debian Chromium is not installed at {CHROMIUM}; install it with: {INSTALL}"
    if os.environ.get("CI"):
        pytest.fail(reason)  # CI must run the browser test, never skip it quietly
    pytest.skip(reason)


def key_sent(page: Page) -> bool:
    return any('"stdin"' in frame and "?" in frame for frame in page.frames("Sent"))


async def press_until_sent(page: Page, tries: int = 3) -> None:
    """Press `?` in the terminal; again only if the page did not send it (focus can lag)."""
    for _ in range(tries):
        await page.evaluate("document.querySelector('.xterm-helper-textarea').focus()")
        await page.press("?", "Slash", "?", 191, modifiers=8)  # shift+/ on a US layout
        with contextlib.suppress(TimeoutError):
            await page.wait_for("the key to reach the server", lambda: key_sent(page), 5)
            return
    raise AssertionError(f"the page never sent the key in {tries} presses")


async def drive(page: Page, server: Served, tmp_path: Path) -> None:
    """Load the page, see the home screen, press `?`, see the help screen; screenshots."""
    await page.send("Page.enable")
    await page.send("Network.enable")  # WebSocket frames, as the page gets them
    loaded = time.monotonic()
    # As in a classroom: the printed address, plus this learner's id.
    await page.send("Page.navigate", url=server.page + "&learner=ada-l")

    await page.wait_for("the home screen in the browser",
                        lambda: HOME_TEXT in received_text(page), 60)
    # textual.js reveals the terminal (and hides its intro) on the first bytes.
    await page.wait_for("the terminal to be shown", lambda: page.evaluate(
        "document.body.classList.contains('-first-byte')"), 10)
    first_screen = time.monotonic() - loaded
    tab = server.wait_tab()  # one browser tab runs one tutor process
    assert tab.environ()["TUTOR_LEARNER"] == "ada-l"
    assert tab.environ()["TUTOR_SERVED"] == "loopback"  # editing allowed: see editing.py
    await page.evaluate("new Promise(r => setTimeout(r, 700))")  # fade-in, paint
    home = await page.screenshot(tmp_path / "home.png")
    assert HELP_TEXT not in received_text(page)

    await press_until_sent(page)
    pressed = time.monotonic()
    await page.wait_for("the help screen after `?`",
                        lambda: HELP_TEXT in received_text(page), 30)
    key_to_screen = time.monotonic() - pressed
    await page.evaluate("new Promise(r => setTimeout(r, 700))")
    helped = await page.screenshot(tmp_path / "help.png")
    assert helped.read_bytes() != home.read_bytes(), "the screen did not change"

    print(f"\nserve started in {server.started_in:.2f} s; first screen in the browser "
          f"{first_screen:.2f} s after navigation; `?` to help screen {key_to_screen:.2f} s")
    print(f"screenshot (home): {home}\nscreenshot (after `?`): {helped}")


@pytest.mark.slow
@pytest.mark.localstack
async def test_browser_shows_home_and_a_key_opens_help(localstack, tmp_path: Path) -> None:
    require_chromium()
    with served(tmp_path, localstack.url) as server:
        async with chromium(tmp_path / "profile", tmp_path / "chromium.log") as page:
            try:
                await drive(page, server, tmp_path)
            except Exception as exc:  # say what the browser and the server saw
                raise AssertionError(
                    f"{type(exc).__name__}: {exc}\n--- tutor serve:\n{server.output()[-3000:]}"
                    f"\n--- the terminal got:\n{received_text(page)[-2000:]}"
                    f"\n--- chromium:\n{(tmp_path / 'chromium.log').read_text()[-2000:]}"
                ) from exc
            # Ctrl-C while the tab is still open: the server and the tab's tutor both stop.
            tabs = server.tabs()
            assert await asyncio.to_thread(server.interrupt) == 0, server.output()
        assert "Traceback" not in server.output(), server.output()
        assert "tutor serve stopped" in server.output()
        for tab in tabs:  # Ctrl-C on the server also ends the tutor of every tab
            assert not tab.is_running() or tab.status() == "zombie", tab


def test_without_chromium_ci_fails_and_local_skips(monkeypatch: pytest.MonkeyPatch,
                                                   tmp_path: Path) -> None:
    import sys

    module = sys.modules[__name__]
    monkeypatch.setattr(module, "CHROMIUM", tmp_path / "no-chromium")
    monkeypatch.setenv("CI", "true")
    with pytest.raises(pytest.fail.Exception, match="apt-get install -y chromium"):
        require_chromium()
    monkeypatch.delenv("CI")
    with pytest.raises(pytest.skip.Exception, match="not installed"):
        require_chromium()
