"""Every exception qwen-gui-agent raises, in one hierarchy with one root.

Catch :class:`QwenAgentError` to catch anything the runtime raises. The two
branches that matter while a run is going are kept apart on purpose:

- :class:`FeedbackError`: the model asked for something that cannot be done
  (unparsable output, a point off screen, an action the env refuses). The
  message is written for the model; the loop sends it back and the run goes on.
- :class:`UnusableError`: a part the run depends on is gone or broken (the
  env, the model backend, the trajectory on disk). The run stops; the message
  says what to do.

The rest are about input, not about a run: :class:`DataError` for a
malformed file (a trajectory, a dataset), :class:`UsageError` for arguments
or settings that cannot work and calls made out of order. Both are also ``ValueError`` s, as the errors
they replace were, so existing ``except ValueError`` handlers still catch them.

::

    QwenAgentError
    ├── EndRun                   a policy ends the run with a status (not a failure)
    ├── FeedbackError
    │   ├── ParseError           output that is not a usable call (``.text`` keeps it)
    │   ├── CoordinateError      a point outside its image
    │   ├── GroundingError       asked to point at something, the model did not
    │   └── ActionError          this action cannot be done; the env is fine
    │       ├── UnsupportedAction
    │       ├── OutOfScreen
    │       ├── AppNotAllowed    open_app named no app the user allowed
    │       └── UrlRefused       a URL outside the browser's scheme / domain policy
    ├── UnusableError
    │   ├── EnvError             lost device, dead X server, crashed browser
    │   ├── ModelError           ModelNotFound, ModelOutOfMemory, ScriptExhausted,
    │   │                        EndpointError (EndpointTimeout, EndpointUnavailable)
    │   ├── RecorderError        the trajectory cannot be written
    │   └── BatchError           a batch cannot run (no Ray, no cluster, no worker started)
    ├── DataError                TrajectoryError (ScreenshotError), DatasetError, TaskFileError
    └── UsageError              SecretError, ExportError
"""

from __future__ import annotations

from typing import Any


class QwenAgentError(Exception):
    """The root of every exception this package raises."""


class EndRun(QwenAgentError):
    """Not a failure: a policy's way to end the run with a status of its own.

    Raised from ``decide`` (a replay that used up its recording, or met a
    screen it does not know); the loop records the step, with ``error`` and
    ``extra`` when given, and ends the run as ``status``.
    """

    def __init__(self, status: str, message: str, *, error: str | None = None,
                 extra: dict[str, Any] | None = None) -> None:
        super().__init__(message)
        self.status = status
        self.message = message
        self.error = error
        self.extra = dict(extra or {})


# -- the model's fault: fed back ---------------------------------------------------------
class FeedbackError(QwenAgentError):
    """The model asked for something that cannot be done; the message is written for it."""


class ParseError(FeedbackError, ValueError):
    """Model output that cannot be turned into actions.

    The message says what was wrong and how a valid call looks, so the loop
    can send it back as feedback. ``text`` keeps the offending output so
    nothing is lost.
    """

    def __init__(self, message: str, text: str = "") -> None:
        super().__init__(message)
        self.text = text
        self.output: Any = None
        """The policy's ``Decision`` without actions (prompt, token counts, timings), when it has one."""


class CoordinateError(FeedbackError, ValueError):
    """A point lies outside the image it is supposed to be in."""


class GroundingError(FeedbackError, ValueError):
    """The model answered, but not with a point on the screen (single-shot grounding)."""

    def __init__(self, message: str, decision: Any) -> None:
        super().__init__(message)
        self.decision = decision


class ActionError(FeedbackError):
    """This one action cannot be performed; the env is fine."""


class UnsupportedAction(ActionError):
    """The env does not perform this action type (see ``Env.capabilities``)."""


class OutOfScreen(ActionError):
    """A coordinate lies outside the current screenshot."""


class AppNotAllowed(ActionError):
    """``open_app`` named no app the user allowed (or several); the message lists the names it may use.

    The model only ever picks from the user's list: what it writes is never run.
    """


class UrlRefused(ActionError):
    """A URL the browser env's policy refuses (a scheme not allowed, a domain not listed).

    The refused page is never loaded; the message says which rule refused it.
    """


# -- something the run depends on is unusable: stop --------------------------------------
class UnusableError(QwenAgentError, RuntimeError):
    """A part the run depends on is gone or broken; the run cannot go on."""


class EnvError(UnusableError):
    """The env itself is unusable (lost device, closed display, crashed browser).

    The message says what to do.
    """


class ModelError(UnusableError):
    """A model backend cannot produce a decision (as opposed to a bad answer)."""


class ModelNotFound(ModelError):
    """Weights are not at the given path, not in the cache, or the hub is unreachable."""


class ModelOutOfMemory(ModelError):
    """The accelerator ran out of memory; the message suggests a smaller ``max_pixels``."""


class ScriptExhausted(ModelError):
    """A scripted model (``ForcedOutput``) was asked for more outputs than it has."""


class EndpointError(ModelError):
    """The chat-completions server refused the request or answered something unusable.

    ``status`` is the HTTP status when there was one; ``body`` the server's answer.
    """

    def __init__(self, message: str, *, status: int | None = None, body: str = "") -> None:
        super().__init__(message)
        self.status = status
        self.body = body


class EndpointTimeout(EndpointError):
    """The server did not answer within the request's deadline (after the retries)."""


class EndpointUnavailable(EndpointError):
    """The server could not be reached, or kept failing, after the retries."""


class RecorderError(UnusableError):
    """The recorder cannot write (closed, finished, or the disk refused a file)."""


class BatchError(UnusableError):
    """A batch cannot run at all: Ray is missing or unreachable, or no worker could start.

    Faults of single tasks never raise it: they end as a result line with their status.
    """


# -- input that cannot be used ------------------------------------------------------------
class DataError(QwenAgentError, ValueError):
    """A file or record is malformed; the message names the file, the record and the field."""


class TrajectoryError(DataError):
    """A trajectory cannot be read: the message names the file and the line."""


class ScreenshotError(TrajectoryError):
    """A step's screenshot cannot be used: outside the run folder, not an image, or too large.

    One bad image does not spoil a run: reports and exports skip it and go on.
    """


class DatasetError(DataError):
    """A benchmark dataset is missing or malformed: the message names the file, the record and
    the field (``qwen-agent eval``). An image that cannot be decoded is not one: it is counted
    as an error in the results, and the evaluation goes on."""


class TaskFileError(DataError):
    """A batch's tasks file cannot be used (bad JSON, a missing field, a duplicate id):
    the message names the file and the line(s)."""


class UsageError(QwenAgentError, ValueError):
    """Arguments or settings that cannot work, or a call out of order; the message says which and why."""


class SecretError(UsageError):
    """A secret definition is malformed (bad name, too short a value, no ``=``)."""


class ExportError(UsageError):
    """The export cannot be made as asked (unknown format, no runs, bad filters)."""


def brief(value: object) -> str:
    """``repr(value)`` cut short, so one bad value cannot flood the prompt an error goes back in."""
    text = repr(value)
    return text if len(text) <= 40 else text[:37] + "..."
