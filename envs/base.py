"""What every env provides, and the machinery every backend shares.

- :class:`Env`: the protocol (observations in, actions out, in screenshot pixels).
- :class:`BaseEnv`: the template a backend subclasses. It implements
  ``_capture``, ``_screen_size`` and ``_close``, and one ``_do_<type>`` method
  per action type it performs (``_do_click``, ``_do_type``, ...): those methods
  *are* its capabilities. Capability and bounds checks, settling and timing
  then hold for every backend alike.
- :class:`EnvWrapper`: changes one part of an env's behaviour and passes the
  rest through, in the style of Gymnasium's wrappers (``env.unwrapped`` is the
  innermost env; nothing is forwarded by ``__getattr__``).
"""

from __future__ import annotations

import time
from abc import ABC, abstractmethod
from typing import TYPE_CHECKING, Any, ClassVar, Protocol, runtime_checkable

from qwen_gui_agent.actions.models import ACTION_BY_TYPE
from qwen_gui_agent.actions.observation import EnvKind, Observation, Outcome
from qwen_gui_agent.envs.screens import screens_match
from qwen_gui_agent.errors import EnvError, OutOfScreen, UnsupportedAction

if TYPE_CHECKING:
    from qwen_gui_agent.actions.models import Action


@runtime_checkable
class Env(Protocol):
    """The protocol every env implements. Use as a context manager."""

    kind: ClassVar[EnvKind]
    capabilities: frozenset[str]
    """The ``type`` names of the actions this env performs."""
    options: dict[str, Any]
    """The JSON-ready options that recreate this env (kept in trajectory headers, used by replay)."""

    def observe(self, settle: bool = False) -> Observation:
        """Take a screenshot. With ``settle``, first wait for the screen to stop changing."""
        ...

    def execute(self, action: Action) -> Outcome:
        """Perform ``action`` (screenshot pixels), or raise ActionError / EnvError."""
        ...

    def close(self) -> None:
        """Release everything; leave no process behind. Idempotent."""
        ...

    def __enter__(self) -> Env: ...

    def __exit__(self, *exc: object) -> None: ...


class BaseEnv(ABC):
    """Template for envs. Subclasses set ``kind`` and write one ``_do_<type>`` per action type."""

    kind: ClassVar[EnvKind]
    capabilities: frozenset[str] = frozenset()
    """Derived from the ``_do_<type>`` methods (see ``__init_subclass__``); an instance may
    narrow it when its configuration leaves an action nothing to do (a desktop with no
    apps allowed has no ``open_app``)."""
    options: dict[str, Any]

    settle_timeout: float = 3.0
    """Longest ``observe(settle=True)`` waits for the screen to stop changing, in seconds."""
    settle_interval: float = 0.15
    settle_tolerance: float = 0.002
    """Fraction of (downsampled) pixels allowed to differ between 'stable' frames,
    so a blinking caret does not keep the screen 'moving' forever."""

    _closed: bool = False

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        cls.capabilities = frozenset(
            name for name in ACTION_BY_TYPE if callable(getattr(cls, f"_do_{name}", None))
        )

    # -- what a backend implements -------------------------------------------------
    @abstractmethod
    def _capture(self) -> Observation:
        """One screenshot with its metadata, no waiting."""

    @abstractmethod
    def _screen_size(self) -> tuple[int, int]:
        """``(width, height)`` of a screenshot right now, in screenshot pixels."""

    @abstractmethod
    def _close(self) -> None:
        """Release the backend's resources."""

    def _perform(self, action: Action) -> dict[str, Any] | None:
        """Run the action's ``_do_<type>`` method; a backend wraps this to translate its failures."""
        return getattr(self, f"_do_{action.type}")(action)

    # -- the public contract -------------------------------------------------------
    def observe(self, settle: bool = False) -> Observation:
        self._ensure_open()
        observation = self._capture()
        if not settle:
            return observation
        deadline = time.monotonic() + self.settle_timeout
        while time.monotonic() < deadline:
            time.sleep(self.settle_interval)
            following = self._capture()
            if screens_match(observation.image, following.image, self.settle_tolerance):
                following.extra["settled"] = True
                return following
            observation = following
        observation.extra["settled"] = False
        return observation

    def execute(self, action: Action) -> Outcome:
        self._ensure_open()
        if action.type not in self.capabilities:
            raise UnsupportedAction(
                f"the {self.kind} env cannot perform '{action.type}' actions; "
                f"it can do: {', '.join(sorted(self.capabilities))}"
            )
        self._check_bounds(action)
        start = time.perf_counter()
        info = self._perform(action) or {}
        return Outcome(duration_s=time.perf_counter() - start, info=info)

    def close(self) -> None:
        if not self._closed:
            self._closed = True
            self._close()

    def __enter__(self) -> BaseEnv:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- helpers -------------------------------------------------------------------
    def _ensure_open(self) -> None:
        if self._closed:
            raise EnvError(f"the {self.kind} env is closed; create a new one with make_env()")

    def _check_bounds(self, action: Action) -> None:
        points = [(getattr(action, "x", None), getattr(action, "y", None))]
        if hasattr(action, "to_x"):
            points.append((action.to_x, action.to_y))  # type: ignore[union-attr]
        points = [(x, y) for x, y in points if x is not None and y is not None]
        if not points:
            return
        width, height = self._screen_size()
        for x, y in points:
            if not (0 <= x < width and 0 <= y < height):
                raise OutOfScreen(
                    f"point ({x}, {y}) is outside the {width}x{height} screenshot; "
                    f"x must be in 0..{width - 1} and y in 0..{height - 1}"
                )


class EnvWrapper:
    """An env around another env: override what changes, everything else passes through.

    Attributes of the wrapped backend (``page`` of a browser, ``device`` of a
    phone) are reached through :attr:`unwrapped`, never forwarded implicitly.
    """

    def __init__(self, env: Env) -> None:
        self.env = env

    @property
    def kind(self) -> EnvKind:  # type: ignore[override]
        return self.env.kind

    @property
    def capabilities(self) -> frozenset[str]:
        return self.env.capabilities

    @property
    def options(self) -> dict[str, Any]:
        return self.env.options

    @property
    def unwrapped(self) -> Env:
        """The innermost env (the backend itself)."""
        env = self.env
        return env.unwrapped if isinstance(env, EnvWrapper) else env

    def observe(self, settle: bool = False) -> Observation:
        return self.env.observe(settle)

    def execute(self, action: Action) -> Outcome:
        return self.env.execute(action)

    def close(self) -> None:
        self.env.close()

    def __enter__(self) -> EnvWrapper:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.env!r})"
