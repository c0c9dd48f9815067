"""What every model family provides: a syntax, a coordinate frame and a prompt.

A :class:`Dialect` turns a family's raw output into unified actions in
screenshot pixels (:meth:`Dialect.parse`), writes actions back as that family
would (:meth:`Dialect.render`, so exported data trains the model that produced
it), and states the family's trained prompt. Families differ in all three, and
mixing them up does not fail loudly: a click simply lands elsewhere (see
:mod:`qwen_gui_agent.actions.coordinates`). So a dialect also recognises the
other families' syntax and says which family the text looks like.
"""

from __future__ import annotations

import re
from abc import ABC, abstractmethod
from collections.abc import Iterable, Sequence
from dataclasses import replace
from typing import ClassVar

from qwen_gui_agent.actions.coordinates import CoordinateFrame, Point
from qwen_gui_agent.actions.frame import Frame, ImageBounds
from qwen_gui_agent.actions.models import Action
from qwen_gui_agent.actions.observation import EnvKind
from qwen_gui_agent.actions.parser import Response
from qwen_gui_agent.errors import ParseError, UsageError


class FamilyError(UsageError):
    """An unknown family name, or a checkpoint no dialect speaks."""


_UI_TARS_MARKS = re.compile(
    r"\b(?:start_box|end_box|start_point|end_point|point)[ \t]*=[ \t]*['\"]|<\|box_start\|>"
    r"|<point>|<bbox>|\b(?:left_double|right_single|call_user|press_home|press_back)[ \t]*\("
)
"""Spellings only UI-TARS writes."""
_QWEN_MARKS = re.compile(r"<tool_call>|\"arguments\"[ \t]*:|[\"']action[\"'][ \t]*:")
"""Spellings only the Qwen tool-call families write."""


def looks_like(text: str) -> str | None:
    """The syntax ``text`` reads like: ``"ui-tars"``, ``"qwen"`` (tool-call JSON) or None."""
    if _UI_TARS_MARKS.search(text):
        return "ui-tars"
    if _QWEN_MARKS.search(text):
        return "qwen"
    return None


class Dialect(ABC):
    """One model family's syntax, coordinate frame and prompt.

    ``bounds`` are the family's image-processor bounds (its resize factor and
    default pixel budget). ``history_as_turns`` says how past steps reach the
    model: as earlier assistant turns (UI-TARS) or as ``Step k:`` lines in the
    user turn (the Qwen families); :meth:`describe_step` writes either.
    """

    name: ClassVar[str]
    bounds: ClassVar[ImageBounds]
    syntax: ClassVar[str]
    """``"qwen"`` or ``"ui-tars"``: what :func:`looks_like` calls this family's syntax."""
    history_as_turns: ClassVar[bool] = False

    def image_bounds(self, min_pixels: int | None = None,
                     max_pixels: int | None = None) -> ImageBounds:
        """The family's bounds with the pixel budget changed (as a processor setting would);
        the resize factor is the family's and does not change."""
        return replace(
            self.bounds,
            min_pixels=self.bounds.min_pixels if min_pixels is None else min_pixels,
            max_pixels=self.bounds.max_pixels if max_pixels is None else max_pixels,
        )

    def frame(self, screen_width: int, screen_height: int,
              bounds: ImageBounds | None = None) -> CoordinateFrame:
        """The frame for a screenshot of this size (under ``bounds``, default the family's)."""
        return self.coordinates((bounds or self.bounds).frame(screen_width, screen_height))

    def coordinates(self, image: Frame) -> CoordinateFrame:
        """The family's coordinate frame over the resized ``image`` (absolute pixels by default)."""
        return image

    @abstractmethod
    def parse(
        self, text: str, frame: CoordinateFrame, env_kind: EnvKind, *, pointer: Point | None = None
    ) -> Response:
        """Raw output -> actions in screenshot pixels; :class:`ParseError` for the model otherwise.

        ``pointer`` is the last pointer position (screenshot pixels), for calls
        that act where the cursor is.
        """

    def render(
        self, actions: Sequence[Action], frame: CoordinateFrame, env_kind: EnvKind,
        thought: str | None = None,
    ) -> str:
        """The assistant turn this family would write for ``actions``; ``UsageError`` if it cannot.

        ``thought`` is the step's reasoning, as :meth:`parse` returned it.
        """
        if not actions:
            raise UsageError("nothing to render: no actions")
        return self.write(actions, frame, env_kind, thought)

    @abstractmethod
    def write(
        self, actions: Sequence[Action], frame: CoordinateFrame, env_kind: EnvKind,
        thought: str | None,
    ) -> str:
        """:meth:`render` for at least one action."""

    @abstractmethod
    def system_prompt(self, frame: CoordinateFrame, env_kind: EnvKind, *,
                      extensions: Iterable[str] = ()) -> str:
        """The system message the family was trained with for this env kind.

        ``extensions`` name actions to advertise beyond the trained ones, where
        the family's schema can carry them (:meth:`check_extensions` says whether it can).
        """

    def check_extensions(self, extensions: Iterable[str]) -> None:
        """Refuse extension actions: this family's prompt has no place to offer them."""
        if tuple(extensions):
            raise UsageError(f"the {self.name} prompt cannot offer extension actions "
                             f"({', '.join(extensions)}); only qwen2.5-vl's can")

    @abstractmethod
    def user_prompt(self, task: str, env_kind: EnvKind, steps: Sequence[str] = ()) -> str:
        """The user text before the screenshot: the task and, for step-line families, the steps."""

    @abstractmethod
    def describe_step(
        self, actions: Sequence[Action], frame: CoordinateFrame, env_kind: EnvKind, raw: str = ""
    ) -> str:
        """One past step as history: a ``Step k:`` line body, or an assistant turn.

        ``frame`` is the frame of that step's screenshot; ``raw`` its model output, if any.
        """

    def mismatch(self, exc: ParseError, text: str) -> ParseError:
        """``exc`` with a note when ``text`` reads like another family's syntax."""
        seen = looks_like(text)
        if seen is None or seen == self.syntax:
            return exc
        return ParseError(f"{_OTHER_SYNTAX[seen]} {exc}", text)


_OTHER_SYNTAX = {
    "ui-tars": (
        "Your reply is in another format (`Action: click(start_box=...)`), which this "
        "session does not read. (Runtime note: that is UI-TARS output; if the model is "
        "UI-TARS, run it with --family ui-tars.)"
    ),
    "qwen": (
        "Your reply is in another format (`<tool_call>` JSON), which this session does not "
        "read. (Runtime note: that is Qwen tool-call output; if the model is Qwen2.5-VL or "
        "Qwen3-VL, run it with --family qwen2.5-vl or --family qwen3-vl.)"
    ),
}
