"""Single-shot grounding for RPA scripts: find a described element with one model call.

A script that knows *what* to do but not *where* asks the model to act on a
description once, and takes the point of the first pointing action it gets
back::

    x, y = locate(env, policy, "the Submit button")
    click(env, policy, "the search field")
    type_into(env, policy, "the e-mail field", "me@example.com")

Points are screenshot pixels of the observation the model saw, the same
contract as every action. Unusable output raises the policy's ``ParseError``;
an answer that points at nothing (a key press, a terminate) raises
:class:`GroundingError`.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from qwen_gui_agent.actions.models import Click, TypeText
from qwen_gui_agent.errors import GroundingError, UsageError

if TYPE_CHECKING:
    from qwen_gui_agent.actions.decision import Decision
    from qwen_gui_agent.actions.observation import Observation
    from qwen_gui_agent.envs.base import Env
    from qwen_gui_agent.model.policy import Policy

INSTRUCTION = "Click on {description}."
"""The task sent to the model; a click request is what GUI models are trained to ground."""


def locate(
    env: Env,
    policy: Policy,
    description: str,
    *,
    observation: Observation | None = None,
    instruction: str = INSTRUCTION,
) -> tuple[int, int]:
    """The screenshot point the model picks for ``description`` (one model call).

    Pass ``observation`` to ground on a screenshot already taken; otherwise a
    fresh one is observed.
    """
    task = grounding_task(description, instruction)
    if observation is None:
        observation = env.observe()
    return pointed_at(policy.decide(task, observation, ()), description)


def grounding_task(description: str, instruction: str = INSTRUCTION) -> str:
    """The task a grounding request sends the model (evaluation sends the same)."""
    if not description.strip():
        raise UsageError("the description is empty")
    return instruction.format(description=description)


def pointed_at(decision: Decision, description: str) -> tuple[int, int]:
    """The point of the first pointing action of ``decision``; GroundingError when none points."""
    for action in decision.actions:
        if action.point is not None:
            return action.point
    got = ", ".join(a.type for a in decision.actions) or "no action"
    raise GroundingError(f"asked to point at {description!r}, the model answered with {got}", decision)


def click(
    env: Env,
    policy: Policy,
    description: str,
    *,
    observation: Observation | None = None,
    instruction: str = INSTRUCTION,
) -> tuple[int, int]:
    """Click what ``description`` names; returns the point clicked."""
    x, y = locate(env, policy, description, observation=observation, instruction=instruction)
    env.execute(Click(x=x, y=y))
    return x, y


def type_into(
    env: Env,
    policy: Policy,
    description: str,
    text: str,
    *,
    observation: Observation | None = None,
    instruction: str = INSTRUCTION,
) -> tuple[int, int]:
    """Click the field ``description`` names, then type ``text``; returns the point clicked."""
    point = click(env, policy, description, observation=observation, instruction=instruction)
    env.execute(TypeText(text=text))
    return point
