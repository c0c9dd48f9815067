"""Enforcing a :class:`~qwen_gui_agent.envs.browser.urls.UrlPolicy` on every page a
browser context opens, at the network level, so that a refused page is never loaded.

:class:`DocumentRouter` sees every main-frame document request of the context
(Playwright routing): the model's ``navigate``, a link it clicks, a form post,
a script's ``location = ...``, a new tab or ``window.open``. A refused one is
answered with an empty ``204 No Content``, which makes Chromium stay on the
page it is on; the refused server is never contacted.

Redirects need more: Playwright routes only the *first* request of a redirect
chain, and Chromium follows the rest by itself. So an allowed document is
fetched here with redirects off (``route.fetch(max_redirects=0)``, through the
context's own cookies). A redirect to a refused URL is not followed; one to an
allowed URL is answered with a tiny page that moves on with
``location.replace(target)``, a fresh navigation that comes through the router
again, hop by hop. The costs, paid only when a domain list is set: document
bodies arrive whole (no streaming), a 307/308 redirect of a form post is
followed as a GET, and the redirecting URL stays the page's referrer.

Subframes (iframes) are left alone, as images and scripts are: the domain
list is about which pages the agent is on, and Chromium itself refuses
``file:`` / ``chrome:`` frames inside web pages.
"""

from __future__ import annotations

import json
from collections import deque
from contextlib import suppress
from typing import TYPE_CHECKING, Callable
from urllib.parse import urljoin

from qwen_gui_agent.envs.browser.urls import UrlPolicy, shorten

if TYPE_CHECKING:
    from playwright.sync_api import BrowserContext, Page, Request, Route

REDIRECT_STATUSES = frozenset({301, 302, 303, 307, 308})
_ABORT_CODES = (("ECONNREFUSED", "connectionrefused"), ("ENOTFOUND", "namenotresolved"),
                ("EAI_AGAIN", "namenotresolved"), ("ECONNRESET", "connectionreset"),
                ("Timeout", "timedout"))
"""Node's network errors (as ``route.fetch`` reports them) -> the error Chromium shows for them."""


def redirect_page(target: str) -> str:
    """A page that goes on to ``target`` at once, replacing itself in the history."""
    script = json.dumps(target).replace("<", "\\u003c")  # no "</script>" can end the script early
    # Paint once before leaving: a page that navigates before its first paint is never painted,
    # and if that navigation is then refused, screenshots of it wait forever.
    return ("<!doctype html><title>Redirecting</title><body>Redirecting...</body><script>"
            f"requestAnimationFrame(() => setTimeout(() => location.replace({script})))</script>")


class DocumentRouter:
    """Answers the main-frame document requests of a context under ``policy``.

    ``on_refused(message)`` hears of each refusal (a sentence for the model).
    Pages left on a redirect page whose next hop was refused are collected in
    :attr:`stranded`; the env takes them back to where they were.
    """

    def __init__(self, policy: UrlPolicy, timeout_s: float, on_refused: Callable[[str], None]) -> None:
        from playwright.sync_api import Error

        self.policy = policy
        self.stranded: set[Page] = set()
        self._timeout_ms = timeout_s * 1000
        self._on_refused = on_refused
        self._error = Error
        self._redirect_pages: deque[str] = deque(maxlen=64)

    def install(self, context: BrowserContext) -> None:
        context.route("**/*", self._handle)

    def is_redirect_page(self, url: str) -> bool:
        """Whether ``url`` is showing one of the router's redirect pages."""
        return url in self._redirect_pages

    def _handle(self, route: Route, request: Request) -> None:
        if request.resource_type != "document" or not self._main_frame(request):
            route.continue_()
            return
        try:
            self._answer(route, request)
        except self._error:  # the page or the browser closed meanwhile: nothing left to answer
            with suppress(self._error):
                route.abort("failed")

    def _answer(self, route: Route, request: Request) -> None:
        reason = self.policy.refusal(request.url)
        if reason is not None:
            self._refuse(route, request, request.url, reason)
            return
        try:
            response = route.fetch(max_redirects=0, timeout=self._timeout_ms)
        except self._error as exc:
            message = str(exc)
            route.abort(next((code for key, code in _ABORT_CODES if key in message), "failed"))
            return
        location = response.headers.get("location")
        if response.status not in REDIRECT_STATUSES or not location:
            route.fulfill(response=response)
            return
        target = urljoin(request.url, location)
        reason = self.policy.refusal(target)
        response.dispose()
        if reason is not None:
            self._refuse(route, request, target, reason)
            return
        self._redirect_pages.append(request.url)
        route.fulfill(status=200, content_type="text/html; charset=utf-8", body=redirect_page(target))

    def _refuse(self, route: Route, request: Request, url: str, reason: str) -> None:
        """Stay where the frame is (204) and tell; a frame on a redirect page is stranded there."""
        with suppress(self._error):  # a new tab's first request has no frame yet
            frame = request.frame
            if self.is_redirect_page(frame.url):
                self.stranded.add(frame.page)
        self._on_refused(f"refused to open {shorten(url)}: {reason}")
        route.fulfill(status=204)

    def _main_frame(self, request: Request) -> bool:
        try:
            return request.frame.parent_frame is None
        except self._error:  # issued before its frame exists: the first page of a new tab
            return True
