"""Which URLs the browser env may open, decided without a browser.

The model's ``navigate`` text is untrusted, and so is every page it reaches:
a page (or a message on it) can steer the model towards local files, browser
internals or a site that collects what it is sent. :class:`UrlPolicy` is the
rule the env enforces on the model's ``navigate`` and, at the network level,
on every page a click, a redirect, a form post or a new tab leads to (see
:mod:`.routing`):

- Schemes: ``http`` and ``https`` by default, plus ``about:blank`` (and
  Chromium's own error page for a failed load). Anything
  else (``file:``, ``data:``, ``chrome:``, ``view-source:``...) needs the
  user's opt-in (``allow_schemes=("file",)``, CLI ``--allow-scheme file``).
  A ``blob:`` URL belongs to the page that made it and is judged by that
  page's origin; ``view-source:`` needs its own opt-in and its inner URL's.
- Domains (optional): with ``allowed_domains``, an ``http(s)`` page must
  match one pattern, in the style browser-use offers:

  ================================  ===================================================
  ``example.com``                   that host (and ``www.example.com``, for a
                                    two-label name as here), any port, http or https
  ``*.example.com``                 ``example.com`` and every subdomain of it
  ``localhost:8000``                that host on that port only
  ``https://example.com``           that host over https only
  ================================  ===================================================

  A ``*`` is allowed only as a leading ``*.``; a pattern names no path.
  The domain list judges web pages; a scheme the user opted into that has no
  host (``file:``, ``data:``) is not subject to it.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from urllib.parse import urlsplit

from qwen_gui_agent.errors import ActionError, UrlRefused, UsageError

DEFAULT_SCHEMES = frozenset({"http", "https"})
WEB_SCHEMES = frozenset({"http", "https"})
"""The schemes a domain pattern speaks about."""
DEFAULT_PORTS = {"http": 80, "https": 443}
ALWAYS_ALLOWED = frozenset({"about:blank", "chrome-error://chromewebdata/"})
"""An empty page, and the page Chromium shows for a failed load: neither shows anything local."""
MAX_URL_IN_MESSAGE = 200

_SCHEME = re.compile(r"^[a-zA-Z][a-zA-Z0-9+.-]*:")
_KNOWN_SCHEMES = ("http", "https", "file", "about", "data", "chrome", "view-source", "blob", "ftp")
_LOCAL_HOST = re.compile(r"^(localhost|127(\.\d{1,3}){3}|\[::1\]|0\.0\.0\.0)(:\d+)?([/?#]|$)")
_IP_HOST = re.compile(r"^\d{1,3}(\.\d{1,3}){3}(:\d+)?([/?#]|$)")
_SCHEME_NAME = re.compile(r"^[a-z][a-z0-9+.-]*$")
_HOST_LABEL = re.compile(r"^(?!-)[a-z0-9_-]{1,63}(?<!-)$")


def normalize_url(url: str) -> str:
    """Add a scheme where a model or user left it out.

    ``example.com/a`` becomes ``https://example.com/a``; a loopback host or an
    IP address (``localhost:8000``, ``192.168.1.5``) gets ``http://``, since
    local servers rarely speak TLS. URLs with a scheme are left alone (and
    then judged by :class:`UrlPolicy`).
    """
    url = url.strip()
    if not url:
        raise ActionError("the URL is empty")
    if url.startswith("//"):
        return "https:" + url
    scheme = _SCHEME.match(url)
    if scheme and scheme.group(0)[:-1].lower() in _KNOWN_SCHEMES:
        return url
    if _LOCAL_HOST.match(url) or _IP_HOST.match(url):
        return "http://" + url
    return "https://" + url


def shorten(url: str) -> str:
    """``url`` cut to a length that cannot flood a message (a data: URL can be megabytes)."""
    return url if len(url) <= MAX_URL_IN_MESSAGE else url[:MAX_URL_IN_MESSAGE - 3] + "..."


@dataclass(frozen=True)
class DomainPattern:
    """One entry of an allowed-domains list (see the module doc for the forms)."""

    text: str
    host: str
    """Lower-case, IDNA-encoded, without the ``*.``."""
    subdomains: bool
    """``*.host``: the host and every subdomain of it."""
    port: int | None = None
    scheme: str | None = None

    @classmethod
    def parse(cls, text: str) -> DomainPattern:
        """Read a pattern; UsageError saying what is wrong with a malformed one."""
        if not isinstance(text, str) or not text.strip():
            raise UsageError(f"an allowed domain must be a pattern such as '*.example.com', got {text!r}")
        rest = text.strip()
        scheme = None
        if "://" in rest:
            scheme, rest = rest.split("://", 1)
            scheme = scheme.lower()
            if scheme not in WEB_SCHEMES:
                raise UsageError(f"allowed domain {text!r}: a domain pattern is for http or https pages, "
                                 f"not {scheme}:")
        rest = rest[:-1] if rest.endswith("/") else rest
        if any(c in rest for c in "/?#@\\") or any(c.isspace() for c in rest):
            raise UsageError(f"allowed domain {text!r} must be a host with an optional port, such as "
                             "'*.example.com' or 'localhost:8000' (no path)")
        subdomains = rest.startswith("*.")
        hostport = rest[2:] if subdomains else rest
        if "*" in hostport:
            raise UsageError(f"allowed domain {text!r}: '*' may only start a pattern, as in '*.example.com'")
        try:
            parts = urlsplit("//" + hostport)
            port = parts.port
        except ValueError as exc:
            raise UsageError(f"allowed domain {text!r}: {exc}") from None
        host = canonical_host(parts.hostname or "")
        if host is None:
            raise UsageError(f"allowed domain {text!r} names no valid host")
        if subdomains and (":" in host or _IP_HOST.match(host)):
            raise UsageError(f"allowed domain {text!r}: an IP address has no subdomains")
        return cls(text.strip(), host, subdomains, port, scheme)

    def matches(self, scheme: str, host: str, port: int | None) -> bool:
        """Whether a URL's (scheme, canonical host, port or None) falls under this pattern."""
        if scheme not in ((self.scheme,) if self.scheme else WEB_SCHEMES):
            return False
        if self.port is not None and (port or DEFAULT_PORTS.get(scheme)) != self.port:
            return False
        if host == self.host or (self.subdomains and host.endswith("." + self.host)):
            return True
        # browser-use's convenience: "example.com" also means its www. (a usual redirect)
        return (not self.subdomains and self.host.count(".") == 1 and not _IP_HOST.match(self.host)
                and host == "www." + self.host)


def canonical_host(host: str) -> str | None:
    """``host`` as Chromium writes it (lower case, IDNA, no trailing dot), None if it is not one."""
    host = host.strip().lower().rstrip(".")
    if not host:
        return None
    if ":" in host:  # IPv6 (urlsplit has removed the brackets)
        return host if re.fullmatch(r"[0-9a-f:.%a-z]+", host) else None
    try:
        host = host.encode("idna").decode("ascii")
    except UnicodeError:
        return None
    return host if all(_HOST_LABEL.match(label) for label in host.split(".")) else None


class UrlPolicy:
    """The schemes and (optionally) domains the browser env may open.

    ``allow_schemes``: schemes allowed besides ``http`` and ``https`` (e.g.
    ``("file",)``). ``allowed_domains``: patterns (module doc); None allows
    every domain. Both are the user's settings, checked here at once.
    """

    def __init__(self, allow_schemes: Iterable[str] = (),
                 allowed_domains: Iterable[str] | None = None) -> None:
        extra = set()
        for scheme in allow_schemes:
            name = str(scheme).strip().lower().rstrip(":")
            if not _SCHEME_NAME.match(name):
                raise UsageError(f"{scheme!r} is not a URL scheme (such as file or data)")
            if name == "javascript":
                raise UsageError("javascript: URLs run code in the page rather than open one; "
                                 "they cannot be allowed (a script can use env.page.evaluate)")
            extra.add(name)
        self.schemes = DEFAULT_SCHEMES | extra
        patterns = None if allowed_domains is None else [DomainPattern.parse(p) for p in allowed_domains]
        if patterns is not None and not patterns:
            raise UsageError("allowed_domains is empty: it would refuse every page; "
                             "pass None to allow every domain")
        self.domains: tuple[DomainPattern, ...] | None = None if patterns is None else tuple(patterns)

    @property
    def options(self) -> dict[str, list[str] | None]:
        """The JSON-ready settings, as the env records them."""
        return {"allow_schemes": sorted(self.schemes - DEFAULT_SCHEMES),
                "allowed_domains": None if self.domains is None else [d.text for d in self.domains]}

    def refusal(self, url: str) -> str | None:
        """Why ``url`` may not be opened, written for the model; None when it may."""
        try:
            parts = urlsplit(url)
            port = parts.port
        except ValueError:
            return "it is not a valid URL"
        scheme = parts.scheme.lower()
        if parts._replace(query="", fragment="").geturl().lower() in ALWAYS_ALLOWED:
            return None
        if scheme == "blob":  # the page's own object: judged by the page's origin
            return self.refusal(url[len("blob:"):])
        if scheme not in self.schemes:
            allowed = ", ".join(sorted(self.schemes))
            return f"the {scheme or '(missing)'}: scheme is not allowed (allowed: {allowed}, about:blank)"
        if scheme == "view-source":
            return self.refusal(url[len("view-source:"):])
        if scheme in WEB_SCHEMES:
            host = canonical_host(parts.hostname or "")
            if host is None:
                return "it names no valid host"
            if self.domains is not None and not any(d.matches(scheme, host, port) for d in self.domains):
                named = f"[{host}]" if ":" in host else host
                where = named if port is None else f"{named}:{port}"
                allowed = ", ".join(d.text for d in self.domains)
                return f"{where} is not an allowed domain (allowed: {allowed})"
        return None

    def check(self, url: str) -> None:
        """Raise :class:`UrlRefused` (for the model) if ``url`` may not be opened."""
        reason = self.refusal(url)
        if reason is not None:
            raise UrlRefused(f"refused to open {shorten(url)}: {reason}")
