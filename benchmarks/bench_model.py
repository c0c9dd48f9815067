"""One decision of QwenPolicy against the cookbook, the cost of history images, and GPU figures.

The same random-weight Qwen2.5-VL (built in memory, nothing downloaded) runs
both sides on the same screenshot and prompt with the same forced output,
interleaved in one run:

- ``decision``: ``QwenPolicy.decide`` (prompt + resize, fast inputs on the
  model's device, ``generate``, decode + parse);
- ``cookbook``: what a user would write from the model card: the stock
  processor on the raw screenshot (it resizes), ``.to(device)``,
  ``model.generate``, ``batch_decode``.

Then, per attention implementation: prefill and decode tokens/s, peak GPU
memory, screenshot -> tensors on the device, and decision time and prompt
tokens against the number of history screenshots shown (``--history``).

    python benchmarks/bench_model.py                       # tiny model, CPU, 1920x1080
    python benchmarks/bench_model.py --size 7b --device cuda --dtype bfloat16 \\
        --attn sdpa,flash_attention_2 --repeats 10         # the GPU check

On a bare GPU machine with torch, the package still needs pydantic (with
pydantic-core, annotated-types, typing-inspection) and the transformers this
was measured with (5.24): install those wheels into a folder, link the
repository root as ``qwen_gui_agent`` and run from it::

    pip install --no-index --no-deps --target /tmp/site .whl/*.whl
    mkdir -p /tmp/p && ln -s "$PWD" /tmp/p/qwen_gui_agent
    export PYTHONPATH=/tmp/site:/tmp/p PYTHONUNBUFFERED=1
    python3 benchmarks/bench_model.py --size 7b --device cuda --dtype bfloat16 \\
        --attn sdpa,flash_attention_2 --repeats 10
    python3 benchmarks/bench_preprocess.py --device cuda --threads 0
"""

from __future__ import annotations

import argparse
import importlib.util
import statistics
import time
from collections.abc import Callable
from typing import Any

import torch
from _report import target
from PIL import Image, ImageDraw

from qwen_gui_agent.actions import Frame
from qwen_gui_agent.actions.decision import HistoryEntry
from qwen_gui_agent.actions.models import Click
from qwen_gui_agent.actions.observation import Observation
from qwen_gui_agent.actions.prompt import build_messages, frame_for
from qwen_gui_agent.model.forcing import ForcedOutput, tool_call_text
from qwen_gui_agent.model.local import QwenPolicy
from qwen_gui_agent.model.tiny import build_model

TASK = "Turn on Wi-Fi"


def screenshot(width: int, height: int, seed: int = 0) -> Image.Image:
    """A deterministic screen-like image (flat areas and edges, as GUIs have)."""
    image = Image.new("RGB", (width, height), (245, 245, 245))
    draw = ImageDraw.Draw(image)
    for i in range(0, height, 48):
        draw.rectangle((20, i + 8, width - 20, i + 36), outline=(90, 90, 90),
                       fill=(255, 255, 255) if (i // 48 + seed) % 2 else (225, 235, 250))
        draw.text((32, i + 14), f"Row {i // 48}: settings item {seed}", fill=(20, 20, 20))
    return image


class Clock:
    """Wall time of a call, waiting for the GPU's queued work when there is one."""

    def __init__(self, device: torch.device) -> None:
        self.cuda = device.type == "cuda"

    def __call__(self, fn: Callable[[], Any]) -> tuple[float, Any]:
        start = time.perf_counter()
        result = fn()
        if self.cuda:
            torch.cuda.synchronize()
        return time.perf_counter() - start, result


def cookbook(model: Any, processor: Any, messages: list[dict[str, Any]], image: Image.Image,
             forced: ForcedOutput, max_new: int, clock: Clock) -> tuple[str, dict[str, float]]:
    """The model card's recipe: ``messages`` hold the raw screenshot, the processor resizes it."""
    from transformers import LogitsProcessorList

    def inputs() -> Any:
        text = processor.apply_chat_template(messages, tokenize=False, add_generation_prompt=True)
        return processor(text=[text], images=[image], return_tensors="pt").to(model.device)

    process_s, batch = clock(inputs)
    with torch.inference_mode():
        generate_s, output = clock(lambda: model.generate(
            **batch, max_new_tokens=max_new, do_sample=False,
            logits_processor=LogitsProcessorList([forced])))
    decode_s, text = clock(lambda: processor.batch_decode(
        output[:, batch["input_ids"].shape[1]:], skip_special_tokens=True)[0])
    return text, {"processor": process_s, "generate": generate_s, "decode": decode_s}


def compare(args: argparse.Namespace, model: Any, processor: Any, attn: str) -> dict[str, Any]:
    """Decision vs cookbook, interleaved; plus prefill/decode speed and device preprocessing."""
    device = model.device
    clock = Clock(device)
    width, height = (int(v) for v in args.screen.lower().split("x"))
    frame = Frame(width, height)
    screen = screenshot(width, height)
    observation = Observation(image=screen, env="desktop")
    call = {"name": "computer_use", "arguments": {
        "action": "left_click", "coordinate": list(frame.to_model(width // 2, height // 3))}}
    text = tool_call_text(call, thought="The Wi-Fi toggle is in the second row; I click it.")
    runs = args.warmup + args.repeats
    forced = ForcedOutput([text] * runs * 2, processor.tokenizer)
    book_forced = ForcedOutput([text] * runs, processor.tokenizer)
    max_new = forced.longest + 2
    policy = QwenPolicy(model, processor=processor, logits_processor=forced,
                        max_new_tokens=max_new)
    # The cookbook's prompt: the policy's text, with the raw screenshot in place of the resized one.
    book_messages = [{**m, "content": [{"type": "image", "image": observation.image}
                                       if p["type"] == "image" else p for p in m["content"]]}
                     for m in build_messages(TASK, observation, [], frame)]
    rows: dict[str, list[float]] = {}
    for index in range(runs):
        # A new screenshot object each round, as each step has: the prompt builder keeps
        # the resized copy of a screenshot it has seen, which would skip the resize.
        observation = Observation(image=screen.copy(), env="desktop")

        def book() -> tuple[str, dict[str, float]]:
            return cookbook(model, processor, book_messages, observation.image, book_forced,
                            max_new, clock)

        if index % 2:  # alternate which side goes first, so neither always finds warm caches
            answer, stages = book()
        decision_s, decision = clock(lambda: policy.decide(TASK, observation, []))
        if not index % 2:
            answer, stages = book()
        if answer != decision.raw:
            raise SystemExit(f"the two sides disagree: {answer!r} vs {decision.raw!r}")
        fresh = Observation(image=screen.copy(), env="desktop")
        prompt_s, messages = clock(lambda: build_messages(TASK, fresh, [], frame_for(fresh)))
        inputs_s, inputs = clock(lambda: policy.prepare(messages))
        with torch.inference_mode():
            prefill_s, _ = clock(lambda: model.generate(**inputs, max_new_tokens=1,
                                                        do_sample=False, logits_processor=[forced]))
        if index < args.warmup:
            continue
        other = decision_s - decision.timings["preprocess"] - decision.timings["generate"]
        sample = {"decision": decision_s, "policy other": other,
                  **{f"policy {k}": v for k, v in decision.timings.items()},
                  "prompt": prompt_s, "inputs": inputs_s, "prefill": prefill_s,
                  "cookbook": sum(stages.values()), **{f"cookbook {k}": v for k, v in stages.items()}}
        for key, value in sample.items():
            rows.setdefault(key, []).append(value)
    med = {k: statistics.median(v) for k, v in rows.items()}
    decode_s = max(med["policy generate"] - med["prefill"], 1e-9)
    med.update(patch_embed_check(model, inputs["pixel_values"], clock))
    return {
        "attn": attn, "median": med, "prompt_tokens": decision.prompt_tokens,
        "image_tokens": frame.image_tokens, "output_tokens": decision.output_tokens,
        "prefill_tok_s": decision.prompt_tokens / med["prefill"],
        "decode_tok_s": (decision.output_tokens - 1) / decode_s,
        "peak_gib": torch.cuda.max_memory_allocated() / 2**30 if clock.cuda else None,
    }


def patch_embed_check(model: Any, pixels: torch.Tensor, clock: Clock) -> dict[str, float]:
    """The vision patch embedding as transformers runs it (a Conv3d whose stride is its
    kernel) and as the GEMM it equals: some cuDNN versions take a very slow path for it,
    and ``from_pretrained(..., fusion_config={"patch_embeddings": True})`` swaps it."""
    import torch.nn.functional as F

    embed = model.model.visual.patch_embed
    weight = embed.proj.weight.reshape(embed.proj.out_channels, -1)
    with torch.inference_mode():
        times = {name: statistics.median(clock(fn)[0] for _ in range(5)) for name, fn in (
            ("patch embed conv3d", lambda: embed(pixels)),
            ("patch embed gemm", lambda: F.linear(pixels.to(weight.dtype), weight)))}
    return times


def history_table(args: argparse.Namespace, model: Any, processor: Any) -> list[dict[str, Any]]:
    """Decision time and prompt tokens with 0, 1, 2, 4 ... past screenshots shown, interleaved."""
    clock = Clock(model.device)
    width, height = (int(v) for v in args.screen.lower().split("x"))
    frame = Frame(width, height)
    text = tool_call_text({"name": "computer_use", "arguments": {
        "action": "left_click", "coordinate": list(frame.to_model(width // 2, height // 2))}})
    screen = screenshot(width, height)
    counts = [int(v) for v in args.history.split(",")]
    history = [HistoryEntry(actions=[Click(x=width // 2, y=height // 2)], raw=text,
                            screen_size=(width, height),
                            observation=Observation(image=screenshot(width, height, step + 1),
                                                    env="desktop"))
               for step in range(max(counts))]
    runs = args.warmup + args.repeats
    policies = {}
    for shown in counts:
        forced = ForcedOutput([text] * runs, processor.tokenizer)
        policies[shown] = QwenPolicy(model, processor=processor, logits_processor=forced,
                                     max_new_tokens=forced.longest + 2, history_images=shown)
    times: dict[int, list[float]] = {shown: [] for shown in counts}
    tokens: dict[int, int | None] = {}
    for index in range(runs):
        for shown, policy in policies.items():
            # A new current screenshot each time; past ones stay the same objects, as in a run.
            observation = Observation(image=screen.copy(), env="desktop")
            seconds, decision = clock(lambda: policy.decide(TASK, observation, history[:shown]))
            tokens[shown] = decision.prompt_tokens
            if index >= args.warmup:
                times[shown].append(seconds)
    return [{"images": shown, "prompt_tokens": tokens[shown],
             "image_tokens": frame.image_tokens * (shown + 1),
             "decision_s": statistics.median(times[shown])} for shown in counts]


def report(args: argparse.Namespace, result: dict[str, Any]) -> None:
    med, on_gpu = result["median"], args.device.startswith("cuda")
    print(f"\nQwen2.5-VL {args.size} (random weights) on {args.device}, attn={result['attn']}, "
          f"screen {args.screen}: {result['prompt_tokens']} prompt tokens "
          f"({result['image_tokens']} image), {result['output_tokens']} output tokens, "
          f"median of {args.repeats}")
    print(f"{'QwenPolicy.decide':<36}{'ms':>9}{'share':>8}")
    for label, value in (("prompt + inputs", med["policy preprocess"]),
                         ("  of which: prompt (resize incl.)", med["prompt"]),
                         ("  of which: inputs (fast path)", med["inputs"]),
                         ("generate", med["policy generate"]),
                         ("decode + parse + bookkeeping", med["policy other"])):
        print(f"{label:<36}{value * 1e3:9.1f}{value / med['decision']:8.1%}")
    print(f"{'total':<36}{med['decision'] * 1e3:9.1f}")
    print(f"{'cookbook (stock processor)':<36}{'ms':>9}{'share':>8}")
    for key in ("processor", "generate", "decode"):
        value = med[f"cookbook {key}"]
        print(f"{key:<36}{value * 1e3:9.1f}{value / med['cookbook']:8.1%}")
    print(f"{'total':<36}{med['cookbook'] * 1e3:9.1f}")
    peak = f", peak memory {result['peak_gib']:.2f} GiB" if result["peak_gib"] else ""
    print(f"prefill (vision encoder included) {result['prefill_tok_s']:.0f} tok/s, "
          f"decode {result['decode_tok_s']:.1f} tok/s{peak}")
    print(f"vision patch embedding: Conv3d {med['patch embed conv3d'] * 1e3:.1f} ms, "
          f"as a GEMM {med['patch embed gemm'] * 1e3:.1f} ms (inside generate, both sides)")
    ratio = med["decision"] / med["cookbook"]
    goal = 1.0 if on_gpu else 0.8
    target(f"decision / cookbook, {args.size} on {args.device} ({result['attn']}), {args.screen}",
           f"{ratio:.2f}x", f"<= {goal}x", ratio <= goal,
           f"cookbook {med['cookbook'] * 1e3:.0f} ms, decision {med['decision'] * 1e3:.0f} ms")
    if on_gpu:
        device_prep = med["prompt"] + med["inputs"]
        target("screenshot -> tensors on the GPU (prompt, resize, inputs)",
               f"{device_prep * 1e3:.1f} ms", "<= 15 ms", device_prep <= 0.015)
        target(f"decision latency, {args.size} ({result['attn']}), median of {args.repeats}",
               f"{med['decision']:.3f} s", "<= 0.6 s", med["decision"] <= 0.6,
               f"prefill {result['prefill_tok_s']:.0f} tok/s, decode "
               f"{result['decode_tok_s']:.1f} tok/s{peak}")


def report_history(rows: list[dict[str, Any]], args: argparse.Namespace) -> None:
    print(f"\nhistory screenshots shown ({args.size} on {args.device}, {args.screen})")
    print(f"{'images':>7}{'prompt tok':>12}{'image tok':>11}{'decision ms':>13}{'x of 0':>8}")
    base = rows[0]["decision_s"]
    for row in rows:
        print(f"{row['images']:>7}{row['prompt_tokens']:>12}{row['image_tokens']:>11}"
              f"{row['decision_s'] * 1e3:>13.1f}{row['decision_s'] / base:>8.2f}")
    last = rows[-1]
    target(f"decision with {last['images']} history images / none ({args.size}, {args.device})",
           f"{last['decision_s'] / base:.2f}x", "-", None,
           f"{last['prompt_tokens']} vs {rows[0]['prompt_tokens']} prompt tokens")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--size", choices=("tiny", "3b", "7b"), default="tiny")
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--dtype", default=None, help="default: bfloat16 on CUDA, float32 on CPU")
    parser.add_argument("--attn", default="sdpa",
                        help="comma-separated attention implementations to compare")
    parser.add_argument("--screen", default="1920x1080", help="WIDTHxHEIGHT of the screenshot")
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--warmup", type=int, default=1)
    parser.add_argument("--history", default="0,1,2,4",
                        help="numbers of history screenshots to time ('' to skip)")
    args = parser.parse_args(argv)
    device = torch.device(args.device)
    dtype = getattr(torch, args.dtype) if args.dtype else (
        torch.bfloat16 if device.type == "cuda" else torch.float32)
    for attn in (a.strip() for a in args.attn.split(",")):
        if attn == "flash_attention_2" and importlib.util.find_spec("flash_attn") is None:
            print(f"\nattn={attn}: skipped, flash_attn is not installed")
            continue
        model, processor = build_model(args.size, device=str(device), dtype=dtype,
                                       attn_implementation=attn)
        if device.type == "cuda":
            torch.cuda.reset_peak_memory_stats()
        report(args, compare(args, model, processor, attn))
        if args.history:
            report_history(history_table(args, model, processor), args)
        del model
        if device.type == "cuda":
            torch.cuda.empty_cache()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
