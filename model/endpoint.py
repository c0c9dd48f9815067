"""``OpenAIPolicy``: the model behind an OpenAI-compatible chat-completions server.

This is how the runtime scales past one GPU: serve the model with vLLM or
SGLang (tensor-parallel, many agents sharing one server), e.g.::

    vllm serve Qwen/Qwen2.5-VL-7B-Instruct --tensor-parallel-size 2
    # with history_images=N also pass --limit-mm-per-prompt '{"image": N+1}'
    python -m sglang.launch_server --model-path Qwen/Qwen2.5-VL-7B-Instruct --port 8000

    policy = OpenAIPolicy("http://localhost:8000", "Qwen/Qwen2.5-VL-7B-Instruct")

The prompt and parser are the local policy's. The screenshot travels as a
base64 data URL already resized to the frame's model size (a multiple of 28
on each side, inside the pixel bounds), which the server's own
``smart_resize`` leaves unchanged as long as its ``min_pixels`` /
``max_pixels`` bound the policy's (the defaults of both are the model's). A
server started with narrower bounds (vLLM ``--mm-processor-kwargs
'{"max_pixels": M}'``) needs the same ``max_pixels=M`` here, or clicks land
off target.

The HTTP side (httpx) is built for many agents sharing one server: one pooled
keep-alive connection per policy; every request has a total deadline
(``timeout``, all attempts and waits included) that a trickling server cannot
stretch; connection failures and 408/429/5xx answers are retried with
exponential backoff, honouring ``Retry-After``; every failure is a typed
:class:`~qwen_gui_agent.errors.EndpointError`. An image already sent (a past
screenshot in the history) is not encoded again.
"""

from __future__ import annotations

import base64
import email.utils
import io
import json
import threading
import time
from collections.abc import Iterable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from qwen_gui_agent._cache import IdentityCache
from qwen_gui_agent.errors import (
    DataError,
    EndpointError,
    EndpointTimeout,
    EndpointUnavailable,
    UsageError,
)
from qwen_gui_agent.model.prompted import Completion, PromptedPolicy

if TYPE_CHECKING:
    import httpx
    from PIL.Image import Image

    from qwen_gui_agent.actions.dialects import Dialect

RETRIED_STATUSES = frozenset({408, 429, 500, 502, 503, 504})
"""Worth another try: timeouts, rate limits and overloaded or restarting servers (and their gateways)."""


class OpenAIPolicy(PromptedPolicy):
    """A :class:`~qwen_gui_agent.model.policy.Policy` that asks a chat-completions server.

    ``base_url`` is the server root, with or without ``/v1``. ``api_key`` goes in
    an ``Authorization: Bearer`` header. ``timeout`` is the total deadline of one
    decision's request in seconds, retries and backoff included;
    ``connect_timeout`` bounds each connection attempt. ``max_retries`` more
    attempts follow a failed one, ``backoff`` seconds apart, doubling up to
    ``max_backoff`` (a ``Retry-After`` answer sets the wait instead).
    ``image_format`` is ``"png"`` (lossless, the default) or ``"jpeg"``
    (smaller requests). ``extra_body`` is merged into every request (e.g.
    vLLM's ``{"top_k": 1}``). Close the policy (or use it as a context manager)
    to release its connection.
    """

    def __init__(
        self,
        base_url: str,
        model: str,
        *,
        api_key: str | None = None,
        timeout: float = 120.0,
        connect_timeout: float = 10.0,
        max_retries: int = 3,
        backoff: float = 0.5,
        max_backoff: float = 10.0,
        max_tokens: int = 256,
        temperature: float = 0.0,
        image_format: str = "png",
        family: Dialect | str | None = None,
        min_pixels: int | None = None,
        max_pixels: int | None = None,
        history_images: int = 0,
        extensions: Iterable[str] = (),
        extra_body: dict[str, Any] | None = None,
    ) -> None:
        super().__init__(family=family, min_pixels=min_pixels, max_pixels=max_pixels,
                         history_images=history_images, extensions=extensions)
        if image_format not in ("png", "jpeg"):
            raise UsageError(f"image_format must be 'png' or 'jpeg', got {image_format!r}")
        if max_retries < 0:
            raise UsageError(f"max_retries must be >= 0, got {max_retries}")
        if not timeout > 0 or not connect_timeout > 0:
            raise UsageError(f"timeouts must be positive, got {timeout} and {connect_timeout}")
        self.url = api_root(base_url) + "/chat/completions"
        self.model = model
        self.timeout = timeout
        self.connect_timeout = connect_timeout
        self.max_retries = max_retries
        self.backoff = backoff
        self.max_backoff = max_backoff
        self.image_format = image_format
        self.body = {"max_tokens": max_tokens, "temperature": temperature, **(extra_body or {})}
        self._headers = {"Content-Type": "application/json", "Accept": "application/json",
                         **auth_headers(api_key)}
        self._client: httpx.Client | None = None
        self._client_lock = threading.Lock()
        self._data_urls: IdentityCache[Image, str] = IdentityCache()

    def __repr__(self) -> str:
        return f"OpenAIPolicy(url={self.url!r}, model={self.model!r})"

    def close(self) -> None:
        """Release the connection (a later request opens a new one)."""
        with self._client_lock:
            client, self._client = self._client, None
        if client is not None:
            client.close()

    def __enter__(self) -> OpenAIPolicy:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def request_body(self, messages: list[dict[str, Any]]) -> dict[str, Any]:
        """The JSON body for ``messages``: images become data URLs, nothing else changes."""
        def part(p: dict[str, Any]) -> dict[str, Any]:
            if p["type"] != "image":
                return p
            url = self._data_urls.get(p["image"], lambda image: image_data_url(image, self.image_format))
            return {"type": "image_url", "image_url": {"url": url}}

        return {"model": self.model, "messages": [
            {"role": m["role"], "content": [part(p) for p in m["content"]]} for m in messages
        ], **self.body}

    def _complete(self, messages: list[dict[str, Any]]) -> Completion:
        start = time.perf_counter()
        payload = json.dumps(self.request_body(messages)).encode("utf-8")
        encoded = time.perf_counter()
        answer = _decode(self._post(payload), self.url)
        answered = time.perf_counter()
        try:
            text = message_text(answer["choices"][0]["message"])
        except (KeyError, IndexError, TypeError, AttributeError, DataError) as exc:
            raise EndpointError(
                f"{self.url} answered without choices[0].message.content ({exc})",
                body=json.dumps(answer)[:2000],
            ) from exc
        usage = answer.get("usage") or {}
        return Completion(text=text, prompt_tokens=usage.get("prompt_tokens"),
                          output_tokens=usage.get("completion_tokens"),
                          preprocess_s=encoded - start, generate_s=answered - encoded)

    # -- HTTP ------------------------------------------------------------------------------
    def _http(self) -> httpx.Client:
        with self._client_lock:
            if self._client is None:
                import httpx

                self._client = httpx.Client(headers=self._headers, follow_redirects=False)
            return self._client

    def _post(self, payload: bytes) -> bytes:
        """POST within the deadline, retrying what is worth retrying; the body of a 2xx answer."""
        deadline = time.monotonic() + self.timeout
        attempt = 1
        while True:
            answer = self._attempt(payload, deadline)
            if isinstance(answer, _Answer) and answer.status < 400:
                return answer.body
            if isinstance(answer, _Answer) and answer.status not in RETRIED_STATUSES:
                raise EndpointError(
                    f"{self.url} refused the request: HTTP {answer.status} {_message(answer.body)}",
                    status=answer.status, body=answer.text)
            failure = self._failure(answer, attempt)
            if attempt > self.max_retries:
                raise failure
            wait = _retry_after(answer) if isinstance(answer, _Answer) else None
            wait = wait if wait is not None else min(self.max_backoff, self.backoff * 2 ** (attempt - 1))
            if time.monotonic() + wait >= deadline:
                raise EndpointTimeout(
                    f"{failure} The next try would start after {wait:g} s, past this request's "
                    f"{self.timeout:g} s deadline; raise the timeout (--model-timeout) or check "
                    "the server's load.", status=failure.status, body=failure.body)
            time.sleep(wait)
            attempt += 1

    def _failure(self, answer: _Answer | Exception, attempt: int) -> EndpointUnavailable:
        if isinstance(answer, _Answer):
            return EndpointUnavailable(
                f"{self.url} failed with HTTP {answer.status} {_message(answer.body)} "
                f"({attempt} attempt(s)).", status=answer.status, body=answer.text)
        return EndpointUnavailable(
            f"cannot reach {self.url}: {answer} ({attempt} attempt(s)); is the server running "
            "(e.g. `vllm serve Qwen/Qwen2.5-VL-7B-Instruct`)?")

    def _attempt(self, payload: bytes, deadline: float) -> _Answer | Exception:
        """One request; a transport failure is returned (to retry), the deadline raises.

        The request runs on a short-lived thread so the deadline holds however
        the server answers: a socket timeout only bounds each read, and a
        server that sends a byte every few seconds would never trip it.
        """
        import httpx

        remaining = deadline - time.monotonic()
        if remaining <= 0:
            raise self._late()
        timeout = httpx.Timeout(remaining, connect=min(self.connect_timeout, remaining))
        outcome: list[_Answer | Exception] = []

        def send() -> None:
            try:
                with self._http().stream("POST", self.url, content=payload, timeout=timeout) as response:
                    chunks = []
                    for chunk in response.iter_bytes():
                        chunks.append(chunk)
                        if time.monotonic() > deadline:
                            return  # abandoned: the caller has already given up
                    outcome.append(_Answer(response.status_code, response.headers, b"".join(chunks)))
            except httpx.TimeoutException as exc:
                outcome.append(exc if isinstance(exc, httpx.ConnectTimeout) else TimeoutError())
            except httpx.HTTPError as exc:
                outcome.append(exc)

        worker = threading.Thread(target=send, name="qwen-agent-endpoint", daemon=True)
        worker.start()
        worker.join(max(0.0, deadline - time.monotonic()))
        if not outcome or isinstance(outcome[0], TimeoutError):
            raise self._late()
        return outcome[0]

    def _late(self) -> EndpointTimeout:
        return EndpointTimeout(
            f"{self.url} did not answer within {self.timeout:g} s; raise the timeout "
            "(OpenAIPolicy(timeout=...), --model-timeout) or check the server's load")


@dataclass(frozen=True)
class _Answer:
    """An HTTP answer, read whole."""

    status: int
    headers: Any
    body: bytes

    @property
    def text(self) -> str:
        return self.body.decode("utf-8", errors="replace")


def api_root(base_url: str) -> str:
    """``http://host:8000/v1`` from the server root given with or without ``/v1``."""
    root = base_url.rstrip("/")
    return root if root.endswith("/v1") else root + "/v1"


def auth_headers(api_key: str | None) -> dict[str, str]:
    """The bearer header for servers started with ``--api-key`` (vLLM, SGLang, gateways)."""
    return {"Authorization": f"Bearer {api_key}"} if api_key else {}


def served_models(base_url: str, *, api_key: str | None = None, timeout: float = 5.0) -> list[str]:
    """The model names an OpenAI-compatible server serves (``GET /v1/models``)."""
    import httpx

    url = api_root(base_url) + "/models"
    try:
        response = httpx.get(url, headers=auth_headers(api_key), timeout=timeout)
    except httpx.HTTPError as exc:
        raise EndpointUnavailable(f"cannot reach {url}: {exc}") from exc
    if response.status_code >= 400:
        raise EndpointError(f"{url} answered HTTP {response.status_code} {_message(response.content)}",
                            status=response.status_code, body=response.text)
    try:
        return [str(model["id"]) for model in response.json()["data"]]
    except (ValueError, KeyError, TypeError) as exc:
        raise EndpointError(f"{url} did not answer with a model list ({exc})",
                            body=response.text[:2000]) from exc


def message_text(message: dict[str, Any]) -> str:
    """The assistant's text, with the tool calls a server parsed out put back as tags.

    A server started with a tool-call parser (vLLM ``--tool-call-parser hermes``,
    SGLang ``--tool-call-parser qwen25``, hosted gateways) may move the model's
    ``<tool_call>`` blocks out of ``content`` into ``tool_calls``; they are
    written back in the trained form so the one parser sees the model's whole answer.
    ``content`` may also be a list of text parts. Raises ``DataError`` for anything else.
    """
    content = message.get("content")
    if isinstance(content, list):
        content = "".join(part["text"] for part in content if part.get("type") == "text")
    if content is not None and not isinstance(content, str):
        raise DataError(f"content is {type(content).__name__}")
    calls = [call["function"] for call in message.get("tool_calls") or []]
    if content is None and not calls:
        raise DataError("content is None and there are no tool_calls")
    blocks = [f"<tool_call>\n{json.dumps(call, ensure_ascii=False)}\n</tool_call>" for call in calls]
    return "\n".join([content or "", *blocks]).strip() if blocks else content


def image_data_url(image: Image, image_format: str = "png") -> str:
    """``data:image/...;base64,...`` of ``image`` (RGB), as chat-completions servers accept."""
    buffer = io.BytesIO()
    if image_format == "jpeg":
        image.convert("RGB").save(buffer, format="JPEG", quality=90)
    else:
        image.save(buffer, format="PNG", compress_level=1)
    return f"data:image/{image_format};base64," + base64.b64encode(buffer.getvalue()).decode("ascii")


def _decode(body: bytes, url: str) -> dict[str, Any]:
    try:
        answer = json.loads(body)
    except ValueError as exc:
        raise EndpointError(f"{url} answered with non-JSON: {body[:200]!r}",
                            body=body.decode("utf-8", "replace")) from exc
    if not isinstance(answer, dict):
        raise EndpointError(f"{url} answered with JSON that is not an object: {body[:200]!r}")
    return answer


def _retry_after(answer: _Answer) -> float | None:
    """Seconds the server asked to wait (``Retry-After``: a number or an HTTP date), if any."""
    value = answer.headers.get("retry-after")
    if not value:
        return None
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        moment = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    return max(0.0, moment.timestamp() - time.time())


def _message(body: bytes) -> str:
    """The server's error message out of an OpenAI-style error body, else the body's start."""
    text = body.decode("utf-8", errors="replace")
    try:
        error = json.loads(text).get("error")
    except (ValueError, AttributeError):
        return text[:200]
    if isinstance(error, dict) and error.get("message"):
        return str(error["message"])
    return error if isinstance(error, str) else text[:200]
