"""What the browser env may open: schemes by default, and a domain list enforced on every page.

The attacks of issue 15 run through a real headless Chromium: pages come from
two servers on 127.0.0.1, ``home`` (allowed) and ``evil`` (refused by the
domain list). What a user would check: the refused server's request log stays
empty (the page was never loaded, not even requested), a ``file:`` canary page
never ran, and the env is still on the page it was on, saying why.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import quote

import pytest
from fixtures.browser import PageServer
from fixtures.ports import closed_port

from qwen_gui_agent.actions.models import Click, Navigate
from qwen_gui_agent.envs.browser.env import BrowserEnv
from qwen_gui_agent.envs.browser.launch import profiles_root
from qwen_gui_agent.envs.browser.urls import DomainPattern, UrlPolicy
from qwen_gui_agent.errors import EnvError, UrlRefused, UsageError

LINKS = """<!doctype html><title>links</title>
<style>body {{ margin: 0 }} .t {{ position: absolute; left: 10px; width: 300px; height: 30px; display: block }}</style>
<a class="t" style="top: 10px" id="direct" href="{evil}/direct.html">a link to another site</a>
<a class="t" style="top: 50px" id="redirect" href="{home}/redirect?to={evil_redirected}">a redirect to it</a>
<a class="t" style="top: 90px" id="twohop" href="{twohop}">two redirects to it</a>
<a class="t" style="top: 130px" id="tab" target="_blank" href="{evil}/tab.html">a new tab</a>
<button class="t" style="top: 170px" id="popup" onclick="window.open('{evil}/popup.html')">window.open</button>
<form method="post" action="{evil}/post.html"><input type="hidden" name="q" value="secret">
<button class="t" style="top: 210px" id="post">a form post</button></form>
<button class="t" style="top: 250px" id="timer" onclick="setTimeout(() => location.href = '{evil}/timer.html', 10)">
a script, a moment later</button>
<a class="t" style="top: 290px" id="allowed" href="{home}/redirect?to={home}/static.html">an allowed redirect</a>
<a class="t" style="top: 330px" id="newtab" target="_blank" href="{home}/static.html">an allowed new tab</a>
"""


@pytest.fixture(scope="module")
def sites(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[PageServer, PageServer]]:
    """(home, evil): two servers on 127.0.0.1; home's links.html points at evil in every way."""
    root = tmp_path_factory.mktemp("sites")
    (root / "home").mkdir()
    (root / "evil").mkdir()
    with PageServer(root / "home") as home, PageServer(root / "evil") as evil:
        (root / "home" / "static.html").write_text("<!doctype html><title>static</title><p>home")
        twohop = f"{home.origin}/redirect?to=" + quote(f"{home.origin}/redirect?to="
                                                        + quote(f"{evil.origin}/twohop.html", safe=""), safe="")
        (root / "home" / "links.html").write_text(LINKS.format(
            home=home.origin, evil=evil.origin, twohop=twohop,
            evil_redirected=quote(f"{evil.origin}/redirected.html", safe="")))
        yield home, evil


@pytest.fixture(scope="module")
def fenced(sites: tuple[PageServer, PageServer]) -> Iterator[BrowserEnv]:
    """A browser allowed only on the home server (its port: the evil one is the same host)."""
    home, _ = sites
    with BrowserEnv(url=home.url("links.html"), viewport=(800, 600),
                    allowed_domains=[f"127.0.0.1:{home.port}"]) as env:
        yield env


def centre(env: BrowserEnv, element: str) -> tuple[int, int]:
    box = env.page.locator(f"#{element}").bounding_box()
    assert box is not None
    return round(box["x"] + box["width"] / 2), round(box["y"] + box["height"] / 2)


def refusals_after_click(env: BrowserEnv, element: str, wait_s: float = 5.0) -> list[str]:
    """Click ``element``; the refusals the Outcome and then the observations report."""
    x, y = centre(env, element)
    refused = list(env.execute(Click(x=x, y=y)).info.get("refused", []))
    deadline = time.monotonic() + wait_s
    while not refused and time.monotonic() < deadline:
        refused += env.observe().extra.get("refused", [])
    return refused


@pytest.mark.parametrize(("element", "path"), [
    ("direct", "/direct.html"), ("redirect", "/redirected.html"), ("twohop", "/twohop.html"),
    ("tab", "/tab.html"), ("popup", "/popup.html"), ("post", "/post.html"), ("timer", "/timer.html"),
])
def test_a_refused_site_is_never_loaded_however_it_is_reached(
        fenced: BrowserEnv, sites: tuple[PageServer, PageServer], element: str, path: str) -> None:
    home, evil = sites
    fenced.page.goto(home.url("links.html"))
    refused = refusals_after_click(fenced, element)
    assert len(refused) == 1, refused
    assert refused[0].startswith(f"refused to open {evil.origin}{path}: 127.0.0.1:{evil.port} is not an "
                                 f"allowed domain (allowed: 127.0.0.1:{home.port})")
    observation = fenced.observe()
    assert observation.url == home.url("links.html") and observation.title == "links"
    assert len(fenced.context.pages) == 1 or all(p.url == "about:blank" for p in fenced.context.pages[1:])
    assert evil.requests == []


def test_allowed_pages_work_as_before(fenced: BrowserEnv, sites: tuple[PageServer, PageServer]) -> None:
    """Redirects within the allowed site are followed (two hops here), new tabs open, downloads arrive."""
    home, evil = sites
    fenced.page.goto(home.url("links.html"))
    x, y = centre(fenced, "newtab")
    reported = fenced.execute(Click(x=x, y=y)).info
    deadline = time.monotonic() + 5
    while "new_page" not in reported and time.monotonic() < deadline:  # the tab may come a moment later
        reported = fenced.observe().extra
    assert reported["new_page"] in ("about:blank", home.url("static.html"))
    fenced.page.wait_for_url(home.url("static.html"))  # the new tab, through the router
    fenced.page.close()  # back to the first tab
    assert refusals_after_click(fenced, "allowed", wait_s=0) == []
    fenced.page.wait_for_url(home.url("static.html"))
    hop = f"{home.url('redirect')}?to={quote(home.url('links.html'), safe='')}"
    outcome = fenced.execute(Navigate(url=f"{home.url('redirect')}?to={quote(hop, safe='')}"))
    assert outcome.info["url"] == home.url("links.html") and fenced.observe().title == "links"
    (home.directory / "files").mkdir(exist_ok=True)
    (home.directory / "files" / "report.csv").write_text("a,b\n1,2\n")
    outcome = fenced.execute(Navigate(url=home.url("download/report.csv")))
    assert [Path(p).read_text() for p in outcome.info["downloads"]] == ["a,b\n1,2\n"]
    assert evil.requests == []


def test_navigate_to_a_refused_site_is_an_action_error(fenced: BrowserEnv,
                                                       sites: tuple[PageServer, PageServer]) -> None:
    home, evil = sites
    fenced.execute(Navigate(url=home.url("static.html")))
    for url in (evil.url("navigated.html"), f"{home.url('redirect')}?to={quote(evil.url('navigated.html'))}",
                f"localhost:{home.port}/static.html"):
        with pytest.raises(UrlRefused, match=r"refused to open .*: .* is not an allowed domain"):
            fenced.execute(Navigate(url=url))
        assert fenced.observe().url == home.url("static.html")
    assert evil.requests == []


def test_an_unreachable_allowed_site_fails_as_it_would_without_the_list() -> None:
    with pytest.raises(EnvError, match="start page did not open: could not open .*ERR_CONNECTION_REFUSED"):
        BrowserEnv(url=f"http://127.0.0.1:{closed_port()}/", allowed_domains=["127.0.0.1"])


def test_a_refused_start_page_stops_before_chromium(sites: tuple[PageServer, PageServer]) -> None:
    home, evil = sites
    before = set(profiles_root().iterdir())
    with pytest.raises(UsageError, match="start page cannot be opened: refused to open .*--allow-domain"):
        BrowserEnv(url=evil.url("start.html"), allowed_domains=[f"127.0.0.1:{home.port}"])
    with pytest.raises(UsageError, match="the file: scheme is not allowed"):
        BrowserEnv(url="file:///etc/passwd")
    assert set(profiles_root().iterdir()) <= before  # no browser was started for them
    assert evil.requests == []


# -- schemes, without a domain list ---------------------------------------------------------

@pytest.fixture(scope="module")
def canary(sites: tuple[PageServer, PageServer], tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A local HTML file that, if it is ever rendered, asks the evil server for /file-canary."""
    _, evil = sites
    path = tmp_path_factory.mktemp("local") / "canary.html"
    path.write_text(f"<!doctype html><script>fetch('{evil.url('file-canary')}')</script><p>local file")
    return path


@pytest.fixture(scope="module")
def plain(sites: tuple[PageServer, PageServer]) -> Iterator[BrowserEnv]:
    home, _ = sites
    with BrowserEnv(url=home.url("static.html"), viewport=(800, 600)) as env:
        yield env


def test_local_files_and_browser_internals_are_refused(
        plain: BrowserEnv, sites: tuple[PageServer, PageServer], canary: Path) -> None:
    home, evil = sites
    attacks = [
        "file:///etc/passwd", "file:///", "FILE:///etc/passwd", "  file:///etc/passwd",
        canary.as_uri(), "view-source:file:///etc/passwd", f"view-source:{home.url('static.html')}",
        "chrome://settings", "about:version",
        f"data:text/html,<script>fetch('{evil.url('data-canary')}')</script>",
        "javascript:fetch('" + evil.url("js-canary") + "')",
    ]
    for url in attacks:
        with pytest.raises(UrlRefused, match="refused to open"):
            plain.execute(Navigate(url=url))
        assert plain.observe().url == home.url("static.html"), url
    plain.execute(Navigate(url="about:blank"))
    plain.execute(Navigate(url=home.url("static.html")))
    assert evil.requests == []


def test_a_scheme_opens_once_the_user_allows_it(sites: tuple[PageServer, PageServer], canary: Path) -> None:
    _, evil = sites
    with BrowserEnv(allow_schemes=["file"]) as env:
        assert env.options["allow_schemes"] == ["file"]
        env.execute(Navigate(url=canary.as_uri()))
        env.page.wait_for_function("performance.getEntriesByType('resource').length > 0")
        with pytest.raises(UrlRefused, match="the data: scheme is not allowed"):
            env.execute(Navigate(url="data:text/html,hi"))
    assert evil.requests == ["GET /file-canary"]
    evil.requests.clear()


def test_a_refused_page_reached_by_a_script_is_never_shown(plain: BrowserEnv,
                                                           sites: tuple[PageServer, PageServer]) -> None:
    home, _ = sites
    plain.page.goto("data:text/html,<title>injected</title><h1>injected")  # a script driving env.page
    observation = plain.observe()
    assert observation.url == "about:blank" and observation.title != "injected"
    assert observation.extra["refused"] == ["left data:text/html,<title>injected</title><h1>injected for "
                                            "about:blank: the data: scheme is not allowed (allowed: http, "
                                            "https, about:blank)"]
    plain.execute(Navigate(url=home.url("static.html")))


# -- options from outside are checked before anything starts --------------------------------

@pytest.mark.parametrize(("options", "message"), [
    ({"viewport": (10**6, 10**6)}, "viewport 1000000x1000000 is too large"),
    ({"viewport": (8000, 8000), "device_scale_factor": 2}, "the screenshot .* 16000x16000 is too large"),
    ({"viewport": ("800", 600)}, "viewport must be two whole numbers"),
    ({"viewport": (800,)}, r"viewport must be \(width, height\)"),
    ({"device_scale_factor": 100}, "device_scale_factor must be between"),
    ({"timeout": 0}, "timeout must be"),
    ({"pause": -1}, "pause must be"),
    ({"allowed_domains": ["*"]}, "may only start a pattern"),
    ({"allowed_domains": []}, "would refuse every page"),
    ({"allow_schemes": ["javascript"]}, "cannot be allowed"),
    ({"allow_schemes": ["no scheme"]}, "is not a URL scheme"),
])
def test_impossible_options_are_usage_errors_before_chromium(options: dict[str, Any], message: str) -> None:
    before = set(profiles_root().iterdir())
    with pytest.raises(UsageError, match=message):
        BrowserEnv(**options)
    assert set(profiles_root().iterdir()) <= before


# -- the policy on its own -------------------------------------------------------------------

@pytest.mark.parametrize(("url", "allowed"), [
    ("https://example.com/", True), ("http://a.b.example.com:9/x", True), ("https://EXAMPLE.com./", True),
    ("https://evilexample.com/", False), ("https://example.com.evil.org/", False),
    ("https://example.com@evil.org/", False), ("https://evil.org/?next=https://example.com", False),
    ("http://localhost:8000/", True), ("http://localhost:8001/", False), ("http://localhost/", False),
    ("https://secure.org/", True), ("http://secure.org/", False),
    ("https://site.net/", True), ("https://www.site.net/", True), ("https://api.site.net/", False),
    ("http://[::1]:8000/", False), ("https://exämple.com/", False), ("about:blank", True),
    ("blob:https://example.com/0b1c", True), ("blob:https://evil.org/0b1c", False),
    ("file:///etc/passwd", False), ("data:text/html,x", False), ("not a url at all", False),
])
def test_domain_patterns(url: str, allowed: bool) -> None:
    policy = UrlPolicy(allowed_domains=["*.example.com", "localhost:8000", "https://secure.org", "site.net"])
    assert (policy.refusal(url) is None) == allowed, policy.refusal(url)


def test_patterns_are_read_strictly() -> None:
    assert DomainPattern.parse("*.Example.COM") == DomainPattern("*.Example.COM", "example.com", True)
    assert DomainPattern.parse("https://bücher.de:8443/").host == "xn--bcher-kva.de"
    for bad in ("*", "*.*", "example.*", "*example.com", "ex*ample.com", "ftp://example.com",
                "example.com/path", "user@example.com", "*.10.0.0.1", "localhost:99999", "a..b", " "):
        with pytest.raises(UsageError):
            DomainPattern.parse(bad)


def test_schemes_are_opt_in() -> None:
    default = UrlPolicy()
    assert default.refusal("file:///etc/passwd") == ("the file: scheme is not allowed "
                                                     "(allowed: http, https, about:blank)")
    assert default.refusal("https://anything.example/") is None
    opted = UrlPolicy(allow_schemes=["FILE:", "view-source"])
    assert opted.refusal("file:///tmp/x.html") is None
    assert opted.refusal("view-source:file:///etc/passwd") is None
    assert opted.refusal("view-source:data:text/html,x") is not None  # the inner URL still counts
    assert opted.options == {"allow_schemes": ["file", "view-source"], "allowed_domains": None}
