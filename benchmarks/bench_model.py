"""Time one decision of QwenPolicy and compare it with a bare ``model.generate``.

Both sides run the same random-weight Qwen2.5-VL (built in memory, nothing
downloaded) on identical inputs with the same forced output, interleaved in
one run, so the ratio shows what the runtime adds (prompt building, resize,
processor, decode, parse) on top of the model itself.

    python benchmarks/bench_model.py                       # tiny model, CPU
    python benchmarks/bench_model.py --size 7b --device cuda --dtype bfloat16 \\
        --attn sdpa,flash_attention_2 --screen 1920x1080   # a GPU
"""

from __future__ import annotations

import argparse
import statistics
import time
from typing import Any

import torch
from PIL import Image, ImageDraw

from qwen_gui_agent.actions import Frame
from qwen_gui_agent.actions.observation import Observation
from qwen_gui_agent.actions.prompt import build_messages, frame_for
from qwen_gui_agent.model.forcing import ForcedOutput, tool_call_text
from qwen_gui_agent.model.local import QwenPolicy
from qwen_gui_agent.model.tiny import build_model


def screenshot(width: int, height: int) -> Image.Image:
    """A deterministic screen-like image (flat areas and edges, as GUIs have)."""
    image = Image.new("RGB", (width, height), (245, 245, 245))
    draw = ImageDraw.Draw(image)
    for i in range(0, height, 48):
        draw.rectangle((20, i + 8, width - 20, i + 36), outline=(90, 90, 90),
                       fill=(255, 255, 255) if i % 96 else (225, 235, 250))
        draw.text((32, i + 14), f"Row {i // 48}: settings item", fill=(20, 20, 20))
    return image


def timed(fn: Any, sync: bool) -> float:
    start = time.perf_counter()
    fn()
    if sync:
        torch.cuda.synchronize()
    return time.perf_counter() - start


def run(args: argparse.Namespace, attn: str) -> dict[str, Any]:
    device = torch.device(args.device)
    dtype = getattr(torch, args.dtype) if args.dtype else (
        torch.bfloat16 if device.type == "cuda" else torch.float32)
    model, processor = build_model(args.size, device=str(device), dtype=dtype,
                                   attn_implementation=attn)
    width, height = (int(v) for v in args.screen.lower().split("x"))
    frame = Frame(width, height)
    observation = Observation(image=screenshot(width, height), env="desktop")
    call = {"name": "computer_use", "arguments": {
        "action": "left_click", "coordinate": list(frame.to_model(width // 2, height // 3))}}
    text = tool_call_text(call, thought="The Wi-Fi toggle is in the second row; I click it.")
    runs = args.warmup + args.repeats
    forced = ForcedOutput([text] * runs * 3, processor.tokenizer)
    max_new = forced.longest + 2
    policy = QwenPolicy(model, processor=processor, logits_processor=forced,
                        max_new_tokens=max_new)
    inputs = policy.prepare(build_messages("Turn on Wi-Fi", observation, [], frame_for(observation)))
    sync = device.type == "cuda"

    def bare(new_tokens: int) -> None:
        with torch.inference_mode():
            model.generate(**inputs, max_new_tokens=new_tokens, do_sample=False,
                           logits_processor=[forced])

    rows: dict[str, list[float]] = {k: [] for k in
                                    ("preprocess", "generate", "parse", "decision", "bare", "prefill")}
    if sync:
        torch.cuda.reset_peak_memory_stats()
    for index in range(runs):
        decision = None

        def decide() -> None:
            nonlocal decision
            decision = policy.decide("Turn on Wi-Fi", observation, [])

        total = timed(decide, sync)
        bare_s = timed(lambda: bare(max_new), sync)
        prefill_s = timed(lambda: bare(1), sync)
        if index < args.warmup:
            continue
        for key in ("preprocess", "generate", "parse"):
            rows[key].append(decision.timings[key])
        rows["decision"].append(total)
        rows["bare"].append(bare_s)
        rows["prefill"].append(prefill_s)
    med = {k: statistics.median(v) for k, v in rows.items()}
    out_tokens = decision.output_tokens
    decode_s = max(med["bare"] - med["prefill"], 1e-9)
    return {
        "attn": attn, "median": med, "prompt_tokens": decision.prompt_tokens,
        "image_tokens": frame.image_tokens, "output_tokens": out_tokens,
        "prefill_tok_s": decision.prompt_tokens / med["prefill"],
        "decode_tok_s": (out_tokens - 1) / decode_s,
        "peak_gib": torch.cuda.max_memory_allocated() / 2**30 if sync else None,
    }


def report(args: argparse.Namespace, result: dict[str, Any]) -> None:
    med = result["median"]
    print(f"\nQwen2.5-VL {args.size} (random weights) on {args.device}, attn={result['attn']}, "
          f"screen {args.screen}: {result['prompt_tokens']} prompt tokens "
          f"({result['image_tokens']} image), {result['output_tokens']} output tokens, "
          f"median of {args.repeats}")
    print(f"{'stage':<28}{'ms':>10}{'share':>8}")
    for key, label in (("preprocess", "preprocess (prompt+proc.)"), ("generate", "generate"),
                       ("parse", "parse")):
        print(f"{label:<28}{med[key] * 1e3:>10.1f}{med[key] / med['decision']:>8.1%}")
    print(f"{'decision total':<28}{med['decision'] * 1e3:>10.1f}")
    print(f"{'bare model.generate':<28}{med['bare'] * 1e3:>10.1f}")
    overhead = med["decision"] - med["bare"]
    print(f"{'runtime overhead':<28}{overhead * 1e3:>10.1f}{overhead / med['bare']:>8.1%}"
          "  (of bare generate)")
    peak = f", peak memory {result['peak_gib']:.2f} GiB" if result["peak_gib"] else ""
    print(f"prefill (vision encoder included) {result['prefill_tok_s']:.0f} tok/s, "
          f"decode {result['decode_tok_s']:.1f} tok/s{peak}")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--size", choices=("tiny", "3b", "7b"), default="tiny")
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--dtype", default=None, help="default: bfloat16 on CUDA, float32 on CPU")
    parser.add_argument("--attn", default="sdpa",
                        help="comma-separated attention implementations to compare")
    parser.add_argument("--screen", default="1366x768", help="WIDTHxHEIGHT of the screenshot")
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--warmup", type=int, default=1)
    args = parser.parse_args(argv)
    for attn in args.attn.split(","):
        result = run(args, attn.strip())
        report(args, result)
        if args.device.startswith("cuda"):
            torch.cuda.empty_cache()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
