"""``OpenAIPolicy``: Qwen2.5-VL behind an OpenAI-compatible chat-completions server.

This is how to scale past one GPU: serve the model with vLLM or SGLang
(tensor-parallel, many agents sharing one server), e.g.::

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
off target. Standard library only (``urllib``): connection errors, 5xx, 408
and 429 are retried with exponential backoff; other 4xx and timeouts raise typed errors.
"""

from __future__ import annotations

import base64
import http.client
import io
import json
import time
import urllib.error
import urllib.request
from collections.abc import Iterable
from typing import TYPE_CHECKING, Any

from qwen_gui_agent.errors import (
    DataError,
    EndpointError,
    EndpointTimeout,
    EndpointUnavailable,
    UsageError,
)
from qwen_gui_agent.model.prompted import Completion, PromptedPolicy

if TYPE_CHECKING:
    from PIL.Image import Image


_RETRIED_4XX = (408, 429)
"""Request timeout and rate limit (gateways in front of a server send them): worth a retry."""


class OpenAIPolicy(PromptedPolicy):
    """A :class:`~qwen_gui_agent.model.policy.Policy` that asks a chat-completions server.

    ``base_url`` is the server root, with or without ``/v1``. ``api_key`` goes in
    an ``Authorization: Bearer`` header. ``image_format`` is ``"png"`` (lossless,
    the default) or ``"jpeg"`` (smaller requests). ``extra_body`` is merged into
    every request (e.g. vLLM's ``{"top_k": 1}``).
    """

    def __init__(
        self,
        base_url: str,
        model: str,
        *,
        api_key: str | None = None,
        timeout: float = 60.0,
        max_retries: int = 2,
        backoff: float = 0.5,
        max_tokens: int = 256,
        temperature: float = 0.0,
        image_format: str = "png",
        min_pixels: int | None = None,
        max_pixels: int | None = None,
        history_images: int = 0,
        extensions: Iterable[str] = (),
        extra_body: dict[str, Any] | None = None,
    ) -> None:
        super().__init__(min_pixels=min_pixels, max_pixels=max_pixels,
                         history_images=history_images, extensions=extensions)
        if image_format not in ("png", "jpeg"):
            raise UsageError(f"image_format must be 'png' or 'jpeg', got {image_format!r}")
        if max_retries < 0:
            raise UsageError(f"max_retries must be >= 0, got {max_retries}")
        root = base_url.rstrip("/")
        self.url = (root if root.endswith("/v1") else root + "/v1") + "/chat/completions"
        self.model = model
        self.api_key = api_key
        self.timeout = timeout
        self.max_retries = max_retries
        self.backoff = backoff
        self.image_format = image_format
        self.body = {"max_tokens": max_tokens, "temperature": temperature, **(extra_body or {})}

    def __repr__(self) -> str:
        return f"OpenAIPolicy(url={self.url!r}, model={self.model!r})"

    def request_body(self, messages: list[dict[str, Any]]) -> dict[str, Any]:
        """The JSON body for ``messages``: images become data URLs, nothing else changes."""
        def part(p: dict[str, Any]) -> dict[str, Any]:
            if p["type"] != "image":
                return p
            return {"type": "image_url",
                    "image_url": {"url": image_data_url(p["image"], self.image_format)}}

        return {"model": self.model, "messages": [
            {"role": m["role"], "content": [part(p) for p in m["content"]]} for m in messages
        ], **self.body}

    def _complete(self, messages: list[dict[str, Any]]) -> Completion:
        start = time.perf_counter()
        payload = json.dumps(self.request_body(messages)).encode("utf-8")
        encoded = time.perf_counter()
        answer = self._post(payload)
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

    def _post(self, payload: bytes) -> dict[str, Any]:
        """POST with retries on connection errors, 5xx, 408 and 429; return the decoded JSON."""
        headers = {"Content-Type": "application/json", "Accept": "application/json"}
        if self.api_key:
            headers["Authorization"] = f"Bearer {self.api_key}"
        attempts = self.max_retries + 1
        for attempt in range(attempts):
            request = urllib.request.Request(self.url, data=payload, headers=headers, method="POST")
            try:
                with urllib.request.urlopen(request, timeout=self.timeout) as response:
                    body = response.read().decode("utf-8", errors="replace")
                break
            except urllib.error.HTTPError as exc:
                body = exc.read().decode("utf-8", errors="replace")
                if exc.code < 500 and exc.code not in _RETRIED_4XX:
                    raise EndpointError(
                        f"{self.url} refused the request: HTTP {exc.code} {_message(body)}",
                        status=exc.code, body=body,
                    ) from exc
                failure: EndpointError = EndpointUnavailable(
                    f"{self.url} failed with HTTP {exc.code} {_message(body)} "
                    f"({attempts} attempt(s))", status=exc.code, body=body)
            except TimeoutError as exc:
                raise EndpointTimeout(
                    f"{self.url} did not answer within {self.timeout:g} s; raise "
                    f"OpenAIPolicy(timeout=...) or check the server's load") from exc
            except urllib.error.URLError as exc:
                if isinstance(exc.reason, TimeoutError):
                    raise EndpointTimeout(
                        f"{self.url} did not answer within {self.timeout:g} s") from exc
                failure = EndpointUnavailable(
                    f"cannot reach {self.url}: {exc.reason} ({attempts} attempt(s)); is the "
                    "server running (e.g. `vllm serve Qwen/Qwen2.5-VL-7B-Instruct`)?")
            except (ConnectionError, http.client.HTTPException) as exc:
                failure = EndpointUnavailable(
                    f"connection to {self.url} failed: {exc} ({attempts} attempt(s))")
            if attempt + 1 == attempts:
                raise failure
            time.sleep(self.backoff * 2 ** attempt)
        try:
            return json.loads(body)
        except json.JSONDecodeError as exc:
            raise EndpointError(f"{self.url} answered with non-JSON: {body[:200]!r}",
                                body=body) from exc


def message_text(message: dict[str, Any]) -> str:
    """The assistant's text, with the tool calls a server parsed out put back as tags.

    A server started with a tool-call parser (vLLM ``--tool-call-parser hermes``,
    SGLang ``--tool-call-parser qwen25``, hosted gateways) may move the model's
    ``<tool_call>`` blocks out of ``content`` into ``tool_calls``; they are
    written back in the trained form so the one parser sees the model's whole answer.
    ``content`` may also be a list of text parts. Raises ``TypeError`` for anything else.
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


def _message(body: str) -> str:
    """The server's error message out of an OpenAI-style error body, else the body's start."""
    try:
        error = json.loads(body).get("error")
        if isinstance(error, dict) and error.get("message"):
            return str(error["message"])
        if isinstance(error, str):
            return error
    except (json.JSONDecodeError, AttributeError):
        pass
    return body[:200]
