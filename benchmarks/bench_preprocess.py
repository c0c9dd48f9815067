"""Screenshot -> model tensors: the fast path (model/preprocess.py) against the stock processor.

Interleaved in one run, on the same screen-like image, each side ending with
its tensors on ``--device`` (synchronised on CUDA):

- ``screenshot -> pixels``: the raw screenshot, resized to the smart_resize size
  (PIL bicubic, the same on both sides) then normalised and patchified;
- ``model-size image -> pixels``: the image already at model size, as the
  runtime hands it over (``resize_for_model`` ran while the prompt was built);
- ``model-size image + prompt -> inputs``: everything ``generate`` takes
  (``input_ids`` with the expanded image tokens, masks, pixels, grid);
- ``resize alone``: the PIL resize both sides share, for scale.

On a CPU both sides get one core by default (``--threads 1``): the stock
processor is single-threaded numpy, and torch's multi-threaded kernels stall
whenever a shared machine deschedules one of their threads, which made
ratios swing 3x between runs. ``--threads 0`` keeps torch's own setting.

    python benchmarks/bench_preprocess.py [--screen 1920x1080] [--rounds 30] [--device cpu]
"""

from __future__ import annotations

import argparse
import os
import statistics
import time
from collections.abc import Callable
from typing import Any

import torch
from _report import target
from PIL import Image

from qwen_gui_agent.actions.observation import Observation
from qwen_gui_agent.actions.prompt import build_messages, frame_for, images_of
from qwen_gui_agent.model.preprocess import FastInputs, VisionSpec, pixel_inputs


def interleaved(calls: dict[str, Callable[[], Any]], rounds: int, sync: bool,
                warmup: int = 2) -> dict[str, float]:
    """Median seconds of each call, run in turn each round so noise hits all alike."""
    samples: dict[str, list[float]] = {name: [] for name in calls}
    for index in range(warmup + rounds):
        for name, call in calls.items():
            start = time.perf_counter()
            call()
            if sync:
                torch.cuda.synchronize()
            if index >= warmup:
                samples[name].append(time.perf_counter() - start)
    return {name: statistics.median(values) for name, values in samples.items()}


def measure(processor: Any, screen: Any, device: torch.device, rounds: int) -> dict[str, float]:
    """Medians of every stage, fast and stock, for one screenshot."""
    observation = Observation(image=screen, env="desktop")
    frame = frame_for(observation)
    messages = build_messages("Turn on Wi-Fi", observation, [], frame)
    text = processor.apply_chat_template(messages, tokenize=False, add_generation_prompt=True)
    fitted = images_of(messages)
    stock_ip = processor.image_processor
    fast = FastInputs.for_processor(processor)
    spec = VisionSpec.of(stock_ip)
    if fast is None or spec is None:
        raise SystemExit(f"{type(stock_ip).__name__} is not a stock Qwen2-VL image processor")

    def stock_pixels(images: list[Any]) -> None:
        stock_ip(images, return_tensors="pt").to(device)

    def stock_inputs() -> None:
        processor(text=[text], images=fitted, return_tensors="pt").to(device)

    return interleaved({
        "stock screenshot": lambda: stock_pixels([screen]),
        "fast screenshot": lambda: pixel_inputs([screen], spec, device=device),
        "stock model-size": lambda: stock_pixels(fitted),
        "fast model-size": lambda: pixel_inputs(fitted, spec, device=device),
        "stock inputs": stock_inputs,
        "fast inputs": lambda: fast(text, fitted, device=device),
        # PIL itself: resize_for_model keeps each screenshot's copy, and this one repeats.
        "resize": lambda: screen.resize(frame.model_size, Image.Resampling.BICUBIC),
    }, rounds, sync=device.type == "cuda")


def report(med: dict[str, float], screen: str, device: torch.device) -> None:
    print(f"screenshot {screen} -> tensors on {device}, median ms "
          f"(torch threads {torch.get_num_threads()}, load average {os.getloadavg()[0]:.1f})")
    print(f"{'stage':<40}{'stock':>9}{'fast':>9}{'ratio':>8}")
    for key, label in (("screenshot", "screenshot -> pixels (resize incl.)"),
                       ("model-size", "model-size image -> pixels"),
                       ("inputs", "model-size image + prompt -> inputs")):
        stock, fast = med[f"stock {key}"], med[f"fast {key}"]
        print(f"{label:<40}{stock * 1e3:9.1f}{fast * 1e3:9.1f}{fast / stock:8.2f}")
    print(f"{'resize alone (PIL bicubic, both sides)':<40}{med['resize'] * 1e3:9.1f}")
    on_cpu = device.type == "cpu"
    for key, label in (("inputs", "model-size image + prompt -> inputs"),
                       ("screenshot", "raw screenshot -> pixels, shared resize incl.")):
        ratio = med[f"fast {key}"] / med[f"stock {key}"]
        target(f"preprocess {screen} on {device.type}, {label}: fast / stock", f"{ratio:.2f}x",
               "<= 0.5x" if on_cpu else "-", ratio <= 0.5 if on_cpu else None,
               f"stock {med[f'stock {key}'] * 1e3:.1f} ms, fast {med[f'fast {key}'] * 1e3:.1f} ms")
    if device.type == "cuda":
        total = med["resize"] + med["fast inputs"]
        target("screenshot -> inputs on the GPU (resize + fast inputs)", f"{total * 1e3:.1f} ms",
               "<= 15 ms", total <= 0.015)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--screen", default="1920x1080", help="WIDTHxHEIGHT of the screenshot")
    parser.add_argument("--rounds", type=int, default=30)
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--threads", type=int, default=1,
                        help="torch CPU threads (0: torch's default)")
    args = parser.parse_args(argv)
    if args.threads:
        torch.set_num_threads(args.threads)
    from bench_model import screenshot

    from qwen_gui_agent.model.chat_templates import QWEN25_VL
    from qwen_gui_agent.model.processor import build_processor
    from qwen_gui_agent.model.tiny import build_tokenizer

    width, height = (int(v) for v in args.screen.lower().split("x"))
    processor = build_processor(build_tokenizer(), chat_template=QWEN25_VL)
    device = torch.device(args.device)
    report(measure(processor, screenshot(width, height), device, args.rounds), args.screen, device)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
