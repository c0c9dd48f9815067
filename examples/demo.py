"""The runtime end to end on the bundled sign-up page, in headless Chromium.

    python examples/demo.py                  # what `bash scripts/demo.sh` runs
    python examples/demo.py --model DIR      # a local Qwen2.5-VL checkpoint (or a hub id)

With real weights (``--model``, ``$QWEN_AGENT_MODEL`` or the default model,
found on disk or on a Hugging Face hub that answers) the model does the task.
Without them, the rule-based ``SignUpPolicy`` of ``examples/custom_policy.py``
does it, through the same ``Agent`` loop; the tiny random-weight model then
takes one step on its own, to show the model path runs. Either way the run is
recorded, reported as HTML, exported as training data and replayed; all of it
lands under ``runs/`` (``--runs DIR``).
"""

from __future__ import annotations

import argparse
import json
import os
import time
from pathlib import Path
from typing import Any

from custom_policy import PAGE, SignUpPolicy

from qwen_gui_agent import Agent, make_env
from qwen_gui_agent.actions import action_to_dict
from qwen_gui_agent.agent.replay import replay
from qwen_gui_agent.errors import ParseError
from qwen_gui_agent.trajectories import export, load_trajectory, write_report

NAME = "Ada Lovelace"
TASK = f"Sign up for the newsletter as {NAME}."


def part(number: int, title: str, proves: str) -> None:
    print(f"\n[{number}] {title}\n    shows: {proves}")


def fact(text: str) -> None:
    print(f"    {text}")


def describe(step: Any) -> str:
    """``click x=212 y=147  "Click the name field."`` for a step's actions and thought."""
    if not step.actions:
        return f"no action ({(step.error or '').splitlines()[0]})"
    actions = "; ".join(" ".join([a.type, *(f"{k}={v}" for k, v in a.model_dump(exclude_defaults=True).items()
                                             if k != "type")]) for a in step.actions)
    thought = step.decision.thought if step.decision is not None else None
    return f"{actions}  {thought!r}" if thought else actions


# -- which policy --------------------------------------------------------------------

def real_model(requested: str | None) -> str | None:
    """The model to run if its weights can be had, else None (and why, printed)."""
    from qwen_gui_agent.model.checkpoints import hub_problem, locate, looks_local
    from qwen_gui_agent.model.factory import default_model

    model = requested or os.environ.get("QWEN_AGENT_MODEL") or default_model()
    if model == "tiny":
        print("model: tiny was asked for, a random-weight model: the offline demo runs")
        return None
    found = locate(model)
    if found is not None:
        print(f"model: {model}, found at {found}")
        return model
    if looks_local(model):
        print(f"model: {model} is not a checkpoint folder; the offline demo runs instead")
        return None
    why = hub_problem(model)
    if why is not None:
        print(f"model: {model} is not on disk and {why}; the offline demo runs instead")
        return None
    print(f"model: {model}, from the hub (downloaded on first use: several GB)")
    return model


# -- the parts -----------------------------------------------------------------------

def solve(policy: Any, who: str, runs: Path, headed: bool, max_steps: int) -> tuple[Any, str]:
    part(1, f"{who} does the task through the Agent loop, recording",
         "screenshot -> policy -> guard -> browser -> recorder, the loop every run uses")
    fact(f"task: {TASK}")
    with make_env("browser", url=PAGE.as_uri(), allow_schemes=["file"], headless=not headed) as env:
        agent = Agent(policy, env, max_steps=max_steps, record_dir=runs,
                      on_step=lambda s: fact(f"step {s.index}: {describe(s)}"
                                             + ("  (executed in the browser)" if s.executed else "")))
        result = agent.run(TASK)
        greeting = env.page.text_content("#greeting") or ""
    executed = sum(s.executed for s in result.steps)
    fact(f"-> {result.status} after {len(result.steps)} step(s), {executed} of them executed; "
         f"the page itself now says {greeting!r}")
    fact(f"   trajectory: {result.trajectory_path}")
    return result, greeting


def report(run: Path) -> Path:
    part(2, "the HTML report of that run",
         "each step's screenshot with the click drawn on it, thought, action, outcome, timings")
    path = write_report(run)
    fact(f"-> {path} (self-contained: open it in any browser, offline)")
    return path


def export_run(run: Path, runs: Path) -> int:
    part(3, "the run exported as fine-tuning data (qwen-vl-finetune)",
         "one sample per step the policy decided and the runtime carried out: the prompt as the model sees it, "
         "the screenshot resized to the model's frame, the tool call in model pixels")
    summary = export(run, runs / "exports" / run.name, format="qwen-vl-finetune")
    fact(f"-> {summary.samples} sample(s), {summary.images} image(s) in {summary.data_file}")
    if not summary.samples:
        fact("   (no step was carried out, so there is nothing to train on)")
    else:
        first = json.loads(summary.data_file.read_text(encoding="utf-8"))[0]
        fact(f"   first sample's image: {first['image'] if isinstance(first['image'], str) else first['image'][0]}")
        fact("   its assistant turn: " + first["conversations"][-1]["value"].replace("\n", " "))
    return summary.samples


def replay_run(run: Path, runs: Path, headed: bool) -> tuple[Any, str]:
    part(4, "a replay of that run in a fresh browser",
         "the recorded actions re-executed, each after checking the screen matches the recorded one")
    with make_env("browser", url=PAGE.as_uri(), allow_schemes=["file"], headless=not headed) as env:
        result = replay(run, env, record_dir=runs, speed=0)
        greeting = env.page.text_content("#greeting") or ""
    fact(f"-> replay {result.status}: {result.replayed} recorded step(s) re-executed, "
         f"{len(result.mismatches)} mismatch(es); the page says {greeting!r}")
    fact(f"   recorded as its own run: {result.trajectory_path}")
    if not result.replayed:
        fact("   (the run executed no action, so there was nothing to re-execute)")
    return result, greeting


def tiny_model_step() -> None:
    """One decision of the random-weight tiny model, its facts printed as they are."""
    from qwen_gui_agent.model.factory import build_policy

    part(5, "the model path, once: a tiny random-weight Qwen2.5-VL built offline takes one step",
         "screenshot -> prompt -> processor (image tokens) -> generate -> decode -> parse, "
         "the path a real checkpoint takes; random weights answer noise, so no action comes of it")
    from transformers.utils import logging

    logging.disable_progress_bar()
    policy = build_policy(model="tiny")
    with make_env("browser", url=PAGE.as_uri(), allow_schemes=["file"]) as env:
        observation = env.observe()
    prompt = policy.prompt(TASK, observation, [])
    inputs = policy.prepare(prompt.messages)
    image_tokens = int((inputs["input_ids"] == policy.model.config.image_token_id).sum())
    width, height = prompt.frame.image_size
    fact(f"prompt: {inputs['input_ids'].shape[1]} tokens, {image_tokens} of them for the "
         f"{width}x{height} model image of the {observation.width}x{observation.height} screenshot")
    start = time.perf_counter()
    try:
        decision = policy.decide(TASK, observation, [])
    except ParseError as error:
        fact(f"generated in {time.perf_counter() - start:.2f} s: {(error.text or '')[:70]!r}...")
        fact(f"-> parser: {str(error).split('. ')[0]}. (In a run, this message goes back to the model.)")
    else:
        fact(f"generated in {time.perf_counter() - start:.2f} s: {decision.raw[:70]!r}")
        fact(f"-> parsed: {[action_to_dict(a) for a in decision.actions]}")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--model", help="hub id or local checkpoint (default: $QWEN_AGENT_MODEL, "
                                        "else the CLI's default model)")
    parser.add_argument("--runs", type=Path, default=Path(os.environ.get("QWEN_AGENT_RUNS", "runs")),
                        help="where the run, report, export and replay go (default: runs/)")
    parser.add_argument("--max-steps", type=int, default=8)
    parser.add_argument("--headed", action="store_true", help="show the browser windows")
    args = parser.parse_args()

    model = real_model(args.model)
    if model is not None:
        from qwen_gui_agent.model.factory import build_policy

        policy, who = build_policy(model=model), f"the model {model}"
    else:
        policy, who = SignUpPolicy(NAME), "a rule-based policy (SignUpPolicy, examples/custom_policy.py)"
        print("Parts 1-4 use a rule-based policy: it finds the name field and the Sign-up button "
              "by their colours in each screenshot; no model is involved.")
    result, greeting = solve(policy, who, args.runs, args.headed, args.max_steps)
    if result.trajectory_path is None or result.status == "error":
        print(f"\ndemo: the run broke: {result.message}")
        return 1
    run = Path(result.trajectory_path)
    report(run)
    samples = export_run(run, args.runs)
    replayed, replay_greeting = replay_run(run, args.runs, args.headed)
    if model is None:
        tiny_model_step()
    trajectory = load_trajectory(run)
    print(f"\ndemo: run {trajectory.status}, {samples} training sample(s), replay {replayed.status}; "
          f"everything is under {args.runs}/")
    if model is None:  # the rule-based policy must solve the page, or something is broken
        solved = result.ok and greeting == replay_greeting == f"Welcome, {NAME}!"
        return 0 if solved and samples and replayed.status == "completed" else 1
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
