"""Browser env: a real Chromium driven through Playwright's sync API.

Screenshots are taken in device pixels (viewport x ``device_scale_factor``);
an action's screenshot pixel becomes a CSS pixel by dividing by the device
scale factor before it reaches ``page.mouse``. The page the env acts on is
public as :attr:`BrowserEnv.page`, so RPA scripts can mix DOM steps
(``env.page.fill(...)``) with vision steps (``env.execute(Click(...))``).

New tabs and popups are followed: the newest page becomes ``env.page``, and the
next :class:`Outcome` or :class:`Observation` says so (``new_page``). JavaScript
dialogs are dismissed and reported (``dialogs``: type and message). Downloads
are saved into ``downloads_dir`` and named in ``Outcome.info["downloads"]`` (or,
when one starts after the action returned, in the next observation's
``extra["downloads"]``); :attr:`BrowserEnv.downloads` lists them all.

What the env may open is a :class:`~qwen_gui_agent.envs.browser.urls.UrlPolicy`:
``http`` / ``https`` (and ``about:blank``) unless the user allows more
schemes, and optionally only some domains. The model's ``navigate`` to a
refused URL raises :class:`~qwen_gui_agent.errors.UrlRefused`; with a domain
list, any other way onto a refused page (a link, a redirect, a form, a new
tab) is stopped at the network level (:mod:`.routing`): the env stays where
it was, and the next Outcome (or Observation ``extra``) says why under
``refused``: a list of sentences written for the model. A screenshot is never
taken of a page the policy refuses (a script that drove ``env.page`` there
finds the env back on ``about:blank``, with the refusal reported).

The profile (cookies, history) is a throw-away folder removed by ``close()``;
one left by a killed process is removed when the next env starts (see
:mod:`.launch`). Downloads are the user's data and are kept.

Like all Playwright sync objects, an env must be used from the thread that made it.
"""

from __future__ import annotations

import math
import os
import re
import shutil
import signal
import tempfile
import threading
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager, suppress
from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar

from qwen_gui_agent.actions.models import (
    Click,
    Drag,
    Key,
    LongPress,
    Move,
    Navigate,
    Scroll,
    SystemButton,
    TypeText,
    Wait,
)
from qwen_gui_agent.actions.observation import EnvKind, Observation
from qwen_gui_agent.envs.base import BaseEnv
from qwen_gui_agent.envs.browser.keys import playwright_key
from qwen_gui_agent.envs.browser.launch import (
    LAUNCH_ARGS,
    acquire_playwright,
    browser_process,
    find_chromium,
    new_profile,
    process_alive,
    reap_profile,
    release_playwright,
)
from qwen_gui_agent.envs.browser.routing import DocumentRouter
from qwen_gui_agent.envs.browser.urls import UrlPolicy, normalize_url, shorten
from qwen_gui_agent.envs.limits import check_screen_size
from qwen_gui_agent.errors import ActionError, EnvError, UnsupportedAction, UrlRefused, UsageError

if TYPE_CHECKING:
    from playwright.sync_api import BrowserContext, Dialog, Download, Page

    from qwen_gui_agent.actions.models import Action

MAX_DEVICE_SCALE_FACTOR = 8.0
MIN_DEVICE_SCALE_FACTOR = 0.25


def _first_line(exc: BaseException) -> str:
    """Playwright messages carry a call log after the first line; a model needs only the reason."""
    text = str(exc).strip().splitlines()
    line = text[0] if text else type(exc).__name__
    return re.sub(r"^\w+\.\w+: ", "", line)


class BrowserEnv(BaseEnv):
    """A Chromium browser (headless by default) with a fresh temporary profile.

    Args:
        url: page to open first (scheme optional, see :func:`normalize_url`).
        viewport: ``(width, height)`` in CSS pixels.
        device_scale_factor: device pixels per CSS pixel; screenshots are
            ``viewport * device_scale_factor`` pixels.
        headless: ``False`` shows a window (needs a display).
        downloads_dir: where downloads are saved; default a new temporary
            directory, kept after ``close()`` so nothing downloaded is lost.
        executable_path: Chromium binary; default ``$QWEN_AGENT_CHROMIUM``, then
            ``chromium`` / ``chromium-browser`` / ``google-chrome`` on ``PATH``,
            then Playwright's own download.
        timeout: seconds any single browser operation (navigation included) may take.
            Input events have no timeout in Playwright; an action still running
            after three timeouts (plus its own duration) stops the browser and
            raises EnvError, so a page stuck in a script cannot hang the agent.
        pause: seconds to let the page react after each input action, so its
            effects (a download, a new tab, a repaint) land in this Outcome and
            the next screenshot; 0 returns at once.
        args: extra Chromium command-line flags.
        allow_schemes: URL schemes allowed besides http and https (e.g.
            ``("file",)``); the model can never open others.
        allowed_domains: if given, the only sites the browser may show
            (patterns such as ``"*.example.com"``, ``"localhost:8000"``; see
            :mod:`.urls`), enforced on every page however it is reached.
            Service workers are then blocked (they could answer a navigation
            out of the router's sight).

    Options that cannot work (a viewport no screen has, a start URL the policy
    refuses, a malformed domain pattern) raise UsageError before Chromium starts.
    """

    kind: ClassVar[EnvKind] = "browser"

    def __init__(
        self,
        url: str | None = None,
        *,
        viewport: tuple[int, int] = (1280, 800),
        device_scale_factor: float = 1.0,
        headless: bool = True,
        downloads_dir: str | Path | None = None,
        executable_path: str | Path | None = None,
        timeout: float = 30.0,
        pause: float = 0.05,
        args: Sequence[str] = (),
        allow_schemes: Sequence[str] = (),
        allowed_domains: Sequence[str] | None = None,
    ) -> None:
        self.viewport, self.device_scale_factor = _check_screen(viewport, device_scale_factor)
        self.timeout, self.pause = _check_times(timeout, pause)
        self.policy = UrlPolicy(allow_schemes, allowed_domains)
        """What the browser may open (see :mod:`.urls`)."""
        start_url = None if url is None else _start_url(url, self.policy)
        self.options: dict[str, Any] = {
            "url": url, "viewport": list(self.viewport),
            "device_scale_factor": self.device_scale_factor, "headless": headless,
            **self.policy.options,
        }
        self.downloads: list[Path] = []
        """Every file saved so far, in order."""
        self._downloads_dir = Path(downloads_dir) if downloads_dir is not None else None
        self._thread = threading.get_ident()
        self._pending: list[Download] = []
        self._unreported: dict[str, Any] = {}
        self._context_closed = False
        self._crashed: set[Page] = set()
        self._refused: list[str] = []  # refusals not yet reported, sentences for the model
        self._router: DocumentRouter | None = None
        self._hung: str | None = None  # what the browser was doing when the watchdog stopped it
        self._pointer = (self.viewport[0] / 2, self.viewport[1] / 2)
        executable = find_chromium(executable_path)

        from playwright.sync_api import Error as PlaywrightError
        from playwright.sync_api import TimeoutError as PlaywrightTimeout

        self._playwright_error = PlaywrightError
        self._playwright_timeout = PlaywrightTimeout
        self._profile = new_profile()
        playwright = acquire_playwright()
        try:
            self._context: BrowserContext = playwright.chromium.launch_persistent_context(
                str(self._profile), executable_path=executable, headless=headless,
                args=[*LAUNCH_ARGS, *args], viewport={"width": self.viewport[0], "height": self.viewport[1]},
                device_scale_factor=self.device_scale_factor, accept_downloads=True,
                timeout=self.timeout * 1000,
                service_workers="block" if self.policy.domains is not None else "allow",
            )
        except Exception as exc:
            release_playwright()
            reap_profile(self._profile, timeout=0)
            shutil.rmtree(self._profile, ignore_errors=True)
            hint = " (a headed browser needs a display: set DISPLAY or use headless=True)" if not headless else ""
            raise EnvError(
                f"could not start Chromium {executable or '(Playwright build)'}: {_first_line(exc)}{hint}; "
                f"pass executable_path= or set $QWEN_AGENT_CHROMIUM to a working Chromium"
            ) from exc
        self.browser_pid = browser_process(self._profile)
        """PID of the main Chromium process (None where /proc is unavailable)."""
        try:
            self._context.set_default_timeout(self.timeout * 1000)
            if self.policy.domains is not None:
                self._router = DocumentRouter(self.policy, self.timeout, self._refused.append)
                self._router.install(self._context)
            self._context.on("page", self._on_new_page)
            self._context.on("close", self._on_context_close)
            for page in self._context.pages:  # a persistent context starts with one tab
                self._watch(page)
            self._page: Page = self._context.pages[-1] if self._context.pages else self._context.new_page()
            self._unreported.clear()
            if start_url is not None:
                self._navigate(self._page, start_url)
        except ActionError as exc:
            self.close()
            raise EnvError(f"the start page did not open: {exc}") from exc
        except BaseException:
            self.close()
            raise

    # -- public ------------------------------------------------------------------------
    @property
    def page(self) -> Page:
        """The Playwright page actions go to (the newest tab or popup)."""
        return self._live_page()

    @property
    def context(self) -> BrowserContext:
        """The Playwright browser context (all tabs, cookies, downloads)."""
        self._live_page()
        return self._context

    @property
    def downloads_dir(self) -> Path:
        """Where downloads are saved (created on first use)."""
        if self._downloads_dir is None:
            self._downloads_dir = Path(tempfile.mkdtemp(prefix="qwen-agent-downloads-"))
        self._downloads_dir.mkdir(parents=True, exist_ok=True)
        return self._downloads_dir

    def observe(self, settle: bool = False) -> Observation:
        """A screenshot (device pixels); ``extra`` adds ``tabs``, ``device_scale_factor``
        and, once each, ``new_page`` (URL of a tab that was followed) and ``downloads``."""
        observation = super().observe(settle)
        with self._errors("saving downloads", fatal=True):
            observation.extra.update(self._report())
        return observation

    # -- BaseEnv -----------------------------------------------------------------------
    def _screen_size(self) -> tuple[int, int]:
        size = self._live_page().viewport_size or {"width": self.viewport[0], "height": self.viewport[1]}
        return (round(size["width"] * self.device_scale_factor),
                round(size["height"] * self.device_scale_factor))

    def _capture(self) -> Observation:
        from io import BytesIO

        from PIL import Image

        page = self._live_page()
        with self._errors("taking a screenshot", fatal=True), self._watchdog("a screenshot", 2):
            self._leave_refused(page)
            png = self._screenshot(page)
            title = page.title()
        image = Image.open(BytesIO(png))
        image.load()
        extra = {"tabs": len(self._context.pages), "device_scale_factor": self.device_scale_factor}
        return Observation(image=image, env="browser", url=page.url, title=title, extra=extra)

    def _screenshot(self, page: Page, attempts: int = 4) -> bytes:
        """PNG bytes of ``page``. A page caught between two documents (an error page
        being committed after a failed navigation, a redirect) cannot be captured
        for a moment, so a failure is retried briefly before it counts."""
        for attempt in range(1, attempts):
            try:
                return page.screenshot(type="png")
            except self._playwright_timeout:
                raise  # a page too busy to paint for a whole timeout: retrying only multiplies the wait
            except self._playwright_error:
                if self._browser_gone() or page in self._crashed:
                    raise
                time.sleep(0.1 * attempt)
        return page.screenshot(type="png")

    def _perform(self, action: Action) -> dict[str, Any] | None:
        page = self._live_page()
        held = float(getattr(action, "duration", 0) or getattr(action, "seconds", 0) or 0)
        with self._errors(action.type):
            with self._watchdog(f"a {action.type} action", 3, held):
                info = self._act(page, action)
            self._live_page()  # follow a tab that closed meanwhile before reporting
            info.update(self._report())  # unwatched: a big download may rightly take long
        return info

    def _act(self, page: Page, action: Action) -> dict[str, Any]:
        """Dispatch ``action``, then give the page ``pause`` seconds to react."""
        info: dict[str, Any] = {}
        with self._unless_closed(page):
            info = super()._perform(action) or {}
        if self.pause > 0 and not isinstance(action, (Wait, Navigate)):
            current = self._live_page()  # the acted-on tab may have closed itself
            with self._unless_closed(current):
                current.wait_for_timeout(self.pause * 1000)
        current = self._live_page()
        with self._unless_closed(current):
            self._leave_refused(current)
        return info

    @contextmanager
    def _watchdog(self, doing: str, timeouts: int, extra_s: float = 0.0) -> Iterator[None]:
        """Stop the browser if the block runs past ``timeouts`` x ``timeout`` (+ ``extra_s``).

        Some Playwright calls have no timeout: mouse and keyboard events and
        ``page.title()`` wait for the page's renderer, which a script that never
        yields (``for (;;) {}``) never frees. Killing the browser makes the
        stuck call fail, and the env then reports itself lost (EnvError) instead
        of blocking the agent forever. ``timeouts`` covers the calls in the block
        that have a timeout each (navigation, then waiting for ``load``).
        """
        limit = self.timeout * timeouts + extra_s

        def stop() -> None:
            self._hung = f"{doing} got no answer for {limit:.0f} s"
            if self.browser_pid is not None:
                with suppress(ProcessLookupError):  # it died by itself meanwhile
                    os.kill(self.browser_pid, signal.SIGKILL)

        timer = threading.Timer(limit, stop)
        timer.daemon = True
        timer.start()
        try:
            yield
        finally:
            timer.cancel()

    @contextmanager
    def _unless_closed(self, page: Page) -> Iterator[None]:
        """Let a Playwright failure pass when ``page`` has closed: a tab that closes
        itself (``window.close()`` behind a button) did what the click asked, and
        the next page is reported as ``new_page``."""
        try:
            yield
        except self._playwright_error:
            if not page.is_closed():
                raise

    def _close(self) -> None:
        own_thread = threading.get_ident() == self._thread
        try:
            if own_thread and not self._browser_gone():
                self._report()
                self._context.close()
        except Exception:  # the browser may die meanwhile; the reaping below still runs
            pass
        finally:
            if own_thread:
                release_playwright()
            # From another thread Playwright cannot be called: kill the processes at once.
            reap_profile(self._profile, timeout=5.0 if own_thread else 0.0)
            shutil.rmtree(self._profile, ignore_errors=True)

    # -- actions -----------------------------------------------------------------------
    # One method per action type; each acts on ``self._page``, which ``_perform``
    # has just checked is alive.
    def _do_click(self, action: Click) -> None:
        x, y = self._css(action.x, action.y)
        self._page.mouse.click(x, y, button=action.button, click_count=action.count)

    def _do_long_press(self, action: LongPress) -> None:
        mouse = self._page.mouse
        mouse.move(*self._css(action.x, action.y))
        mouse.down()
        self._page.wait_for_timeout(action.duration * 1000)
        mouse.up()

    def _do_move(self, action: Move) -> None:
        self._page.mouse.move(*self._css(action.x, action.y))

    def _do_drag(self, action: Drag) -> None:
        page = self._page
        start = self._css(action.x, action.y)
        end = self._css(action.to_x, action.to_y)
        steps = max(5, min(60, math.ceil(action.duration * 60)))
        page.mouse.move(*start)
        page.mouse.down()
        for i in range(1, steps + 1):
            page.mouse.move(start[0] + (end[0] - start[0]) * i / steps,
                            start[1] + (end[1] - start[1]) * i / steps)
            if action.duration:
                page.wait_for_timeout(action.duration * 1000 / steps)
        page.mouse.up()

    def _do_scroll(self, action: Scroll) -> None:
        mouse = self._page.mouse
        if action.x is not None and action.y is not None:
            mouse.move(*self._css(action.x, action.y))
        else:
            mouse.move(*self._pointer)
        # Scrolls dx/dsf CSS px. (Under device-scale emulation Chromium reports the
        # wheel event's deltaY to page scripts divided by dsf once more.)
        mouse.wheel(action.dx / self.device_scale_factor, action.dy / self.device_scale_factor)

    def _do_type(self, action: TypeText) -> None:
        self._page.keyboard.type(action.text)

    def _do_key(self, action: Key) -> dict[str, Any]:
        return self._press(self._page, action.keys)

    def _do_navigate(self, action: Navigate) -> dict[str, Any]:
        url = normalize_url(action.url)
        self.policy.check(url)
        return self._navigate(self._page, url)

    def _do_wait(self, action: Wait) -> None:
        self._page.wait_for_timeout(action.seconds * 1000)

    def _do_system_button(self, action: SystemButton) -> dict[str, Any]:
        return self._system_button(self._page, action.button)

    def _css(self, x: float, y: float) -> tuple[float, float]:
        """Screenshot pixel -> CSS pixel (remembered as the pointer position)."""
        self._pointer = (x / self.device_scale_factor, y / self.device_scale_factor)
        return self._pointer

    def _press(self, page: Page, keys: list[str]) -> dict[str, Any]:
        if keys == ["back"]:
            return self._system_button(page, "back")
        if len(keys) == 1 and len(keys[0]) == 1 and not keys[0].isascii():
            page.keyboard.insert_text(keys[0])  # no physical key for it: enter the character
            return {}
        names = [playwright_key(key) for key in keys]
        pressed: list[str] = []
        try:
            for name in names:
                page.keyboard.down(name)
                pressed.append(name)
        finally:
            for name in reversed(pressed):
                page.keyboard.up(name)
        return {}

    def _navigate(self, page: Page, url: str) -> dict[str, Any]:
        """Open ``url`` (already checked against the policy); UrlRefused if a redirect leads
        where the policy refuses (the page then stays, or goes back, where it was)."""
        mark = len(self._refused)
        try:
            response = page.goto(url, wait_until="domcontentloaded")
        except self._playwright_error as exc:
            if "Download is starting" in str(exc):
                # Events are only dispatched inside Playwright calls, so checking
                # and then waiting cannot miss one that arrives in between.
                if not self._pending:
                    page.wait_for_event("download")
                return {"url": url}
            if self._browser_gone():
                raise
            self._raise_if_refused(page, mark)
            raise ActionError(f"could not open {shorten(url)}: {_first_line(exc)}") from exc
        self._follow_redirects(page)
        self._raise_if_refused(page, mark)
        info = {"url": page.url, "status": response.status if response is not None else None}
        return {**info, **self._wait_for_load(page)}

    def _follow_redirects(self, page: Page) -> None:
        """Wait while ``page`` shows one of the router's redirect pages (see :mod:`.routing`),
        up to the timeout, unless its next hop was refused."""
        router = self._router
        deadline = time.monotonic() + self.timeout
        while (router is not None and router.is_redirect_page(page.url) and page not in router.stranded
               and time.monotonic() < deadline):
            page.wait_for_timeout(20)

    def _raise_if_refused(self, page: Page, mark: int) -> None:
        """UrlRefused for the refusals since ``mark`` (they are this navigation's, not news)."""
        refused = self._refused[mark:]
        if refused:
            del self._refused[mark:]
            self._leave_refused(page)
            raise UrlRefused(refused[0])

    def _leave_refused(self, page: Page) -> None:
        """Take ``page`` off anything the policy refuses before it is seen: back from a redirect
        page whose next hop was refused, to ``about:blank`` from a refused page reached some
        other way (a script driving ``env.page``)."""
        router = self._router
        if router is not None and page in router.stranded:
            router.stranded.discard(page)
            if router.is_redirect_page(page.url):  # still where the refused hop left it
                with suppress(self._playwright_error):  # a navigation begun meanwhile is routed too
                    if page.go_back(wait_until="commit") is None:
                        page.goto("about:blank")
        reason = self.policy.refusal(page.url)
        if reason is not None:
            self._refused.append(f"left {shorten(page.url)} for about:blank: {reason}")
            page.goto("about:blank")

    def _wait_for_load(self, page: Page) -> dict[str, Any]:
        """Wait for ``load`` up to the timeout; a page that never gets there (a hanging
        resource, a long poll) is still usable, so that is reported, not raised."""
        try:
            page.wait_for_load_state("load")
        except self._playwright_timeout:
            return {"loaded": False}
        return {}

    def _system_button(self, page: Page, button: str) -> dict[str, Any]:
        if button == "back":
            before = page.url
            # "commit", then a bounded wait for load: a page that never finishes
            # loading is still where back went, not a failure of going back
            if page.go_back(wait_until="commit") is None and page.url == before:
                raise ActionError("there is no previous page to go back to")
            return {"url": page.url, **self._wait_for_load(page)}
        if button == "enter":
            page.keyboard.press("Enter")
            return {}
        raise UnsupportedAction(f"a browser has no '{button}' button; use 'back' or 'enter'")

    # -- pages, downloads, failures ----------------------------------------------------
    def _watch(self, page: Page) -> None:
        page.on("download", self._on_download)
        page.on("crash", self._on_crash)
        page.on("dialog", self._on_dialog)

    def _on_dialog(self, dialog: Dialog) -> None:
        """Dismiss alerts, confirms and prompts (as Playwright would) but tell the agent."""
        self._unreported.setdefault("dialogs", []).append({"type": dialog.type, "message": dialog.message})
        dialog.dismiss()

    def _on_download(self, download: Download) -> None:
        self._pending.append(download)

    def _on_crash(self, page: Page) -> None:
        self._crashed.add(page)

    def _on_new_page(self, page: Page) -> None:
        self._watch(page)
        self._page = page
        self._unreported["new_page"] = True

    def _on_context_close(self, _context: BrowserContext) -> None:
        self._context_closed = True

    def _report(self) -> dict[str, Any]:
        """Save finished downloads and hand over what happened since the last report."""
        saved = []
        while self._pending:
            download = self._pending.pop(0)
            failure = download.failure()
            if failure:
                self._unreported.setdefault("download_errors", []).append(
                    f"{download.suggested_filename}: {failure}")
                continue
            target = _unique(self.downloads_dir / (Path(download.suggested_filename).name or "download"))
            download.save_as(target)
            self.downloads.append(target)
            saved.append(str(target))
        if saved:
            self._unreported.setdefault("downloads", []).extend(saved)
        if self._refused:
            self._unreported.setdefault("refused", []).extend(self._refused)
            self._refused.clear()
        report = self._unreported
        if report.get("new_page"):
            report["new_page"] = self._page.url
        self._unreported = {}
        return report

    def _live_page(self) -> Page:
        """The current page, after checking the browser is still there to act on it."""
        self._ensure_open()
        if threading.get_ident() != self._thread:
            raise EnvError("a BrowserEnv must be used from the thread that created it "
                           "(Playwright's sync API is bound to it); create one per thread")
        if self._browser_gone():
            raise self._lost()
        if self._page.is_closed():
            open_pages = [p for p in self._context.pages if not p.is_closed()]
            if open_pages:
                self._page = open_pages[-1]
            else:
                self._page = self._context.new_page()
            self._unreported["new_page"] = True
        if self._page in self._crashed:
            raise EnvError(
                f"the page {self._page.url} crashed (its renderer died); close this env and "
                "create a new one with make_env('browser', ...)"
            )
        return self._page

    def _browser_gone(self) -> bool:
        return self._context_closed or not process_alive(self.browser_pid)

    def _lost(self) -> EnvError:
        why = (f"was stopped because {self._hung} (a page script that never yields?)" if self._hung
               else "has exited or crashed")
        return EnvError(
            f"the Chromium browser (pid {self.browser_pid}) {why}; close this env "
            "and create a new one with make_env('browser', ...)"
        )

    @contextmanager
    def _errors(self, doing: str, fatal: bool = False) -> Iterator[None]:
        """Translate Playwright failures into EnvError (browser or page gone) or ActionError."""
        try:
            yield
        except (ActionError, EnvError):
            raise
        except Exception as exc:
            if self._browser_gone():
                raise self._lost() from exc
            if self._page in self._crashed:
                self._live_page()
            message = f"{doing} failed: {_first_line(exc)}"
            raise (EnvError(message + "; create a new env if this persists") if fatal
                   else ActionError(message)) from exc


def _unique(path: Path) -> Path:
    """``path``, or ``name (1).ext``, ``name (2).ext``... if it exists (never overwrite a download)."""
    candidate, n = path, 1
    while candidate.exists():
        candidate = path.with_name(f"{path.stem} ({n}){path.suffix}")
        n += 1
    return candidate


def _check_screen(viewport: Sequence[int], device_scale_factor: float) -> tuple[tuple[int, int], float]:
    """The viewport and scale factor if a screen can have them (they may come from a file)."""
    if not isinstance(viewport, (tuple, list)) or len(viewport) != 2:
        raise UsageError(f"viewport must be (width, height) in CSS pixels, got {viewport!r}")
    width, height = check_screen_size(viewport[0], viewport[1], "viewport")
    dsf = device_scale_factor
    if not (_is_number(dsf) and MIN_DEVICE_SCALE_FACTOR <= dsf <= MAX_DEVICE_SCALE_FACTOR):
        raise UsageError(f"device_scale_factor must be between {MIN_DEVICE_SCALE_FACTOR} and "
                         f"{MAX_DEVICE_SCALE_FACTOR:.0f}, got {dsf!r}")
    check_screen_size(round(width * dsf), round(height * dsf), "the screenshot (viewport x device_scale_factor)")
    return (width, height), float(dsf)


def _check_times(timeout: float, pause: float) -> tuple[float, float]:
    """The timeout and pause as floats, if they are seconds a browser could wait."""
    if not (_is_number(timeout) and 0 < timeout <= 3600):
        raise UsageError(f"timeout must be a number of seconds in (0, 3600], got {timeout!r}")
    if not (_is_number(pause) and 0 <= pause <= 60):
        raise UsageError(f"pause must be a number of seconds in [0, 60], got {pause!r}")
    return float(timeout), float(pause)


def _is_number(value: object) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def _start_url(url: str, policy: UrlPolicy) -> str:
    """The start page, normalised, if the policy lets it open; a UsageError for the user otherwise."""
    try:
        start = normalize_url(url)
        policy.check(start)
    except ActionError as exc:
        raise UsageError(f"the start page cannot be opened: {exc} (allow it with allowed_domains / "
                         "--allow-domain, or allow_schemes / --allow-scheme)") from None
    return start
