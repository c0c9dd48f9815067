"""Evaluation throughput: samples/s of one-by-one vs batched local decoding, in one run.

A ScreenSpot-layout dataset is written to a temporary folder and scored end to
end by ``evaluate`` (image loading, prompt, processor, ``generate``, parse,
score, predictions file) with a random-weight Qwen2.5-VL built in memory; every
answer is forced to the same text, so both sides decode the same number of
tokens. Runs of the two batch sizes alternate and the medians are compared:
the ratio is what batching buys on this machine.

    python benchmarks/bench_eval.py                                  # tiny model, CPU
    python benchmarks/bench_eval.py --size 7b --device cuda --batch 1,8,16 --screen 1920x1080
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
from pathlib import Path

import torch
from bench_model import screenshot

from qwen_gui_agent.actions import Frame
from qwen_gui_agent.agent.evaluation import ScreenSpot, evaluate
from qwen_gui_agent.model.forcing import ForcedOutput, tool_call_text
from qwen_gui_agent.model.local import QwenPolicy
from qwen_gui_agent.model.tiny import build_model


def write_dataset(root: Path, samples: int, width: int, height: int) -> Path:
    """``samples`` web records over a few distinct screens, each with a target box."""
    import json

    (root / "screenspot_imgs").mkdir(parents=True)
    records = []
    for index in range(samples):
        name = f"s{index % 4}.png"
        if not (root / "screenspot_imgs" / name).exists():
            screenshot(width, height, seed=index % 4).save(root / "screenspot_imgs" / name)
        records.append({"img_filename": name, "instruction": f"row {index % 10} of the list",
                        "bbox": [20, 8 + 48 * (index % 10), width - 40, 28], "data_type": "text"})
    (root / "screenspot_web_v2.json").write_text(json.dumps(records))
    return root


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--size", choices=("tiny", "3b", "7b"), default="tiny")
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--dtype", default=None, help="default: bfloat16 on CUDA, float32 on CPU")
    parser.add_argument("--screen", default="1092x616", help="WIDTHxHEIGHT of the screenshots")
    parser.add_argument("--samples", type=int, default=32)
    parser.add_argument("--batch", default="1,8", help="batch sizes to compare, comma-separated")
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args(argv)

    device = torch.device(args.device)
    dtype = getattr(torch, args.dtype) if args.dtype else (
        torch.bfloat16 if device.type == "cuda" else torch.float32)
    model, processor = build_model(args.size, device=str(device), dtype=dtype)
    width, height = (int(v) for v in args.screen.lower().split("x"))
    frame = Frame(width, height)
    call = {"name": "computer_use", "arguments": {
        "action": "left_click", "coordinate": list(frame.to_model(width // 2, 22))}}
    text = tool_call_text(call, thought="The first row is the one asked for; I click it.")
    sizes = [int(b) for b in args.batch.split(",")]
    runs = (args.repeats + 1) * len(sizes)
    forced = ForcedOutput([text] * args.samples * runs, processor.tokenizer)
    policy = QwenPolicy(model, processor=processor, logits_processor=forced,
                        max_new_tokens=forced.longest + 2)

    rates: dict[int, list[float]] = {b: [] for b in sizes}
    accuracy: dict[int, float] = {}
    with tempfile.TemporaryDirectory() as tmp:
        data = write_dataset(Path(tmp) / "ss", args.samples, width, height)
        for repeat in range(args.repeats + 1):  # the first round warms up
            for batch in sizes:
                results = evaluate(ScreenSpot(data), policy, batch_size=batch)
                assert results.complete, results.stopped
                accuracy[batch] = results.metrics["accuracy"]["value"]
                if repeat:
                    rates[batch].append(args.samples / results.elapsed_s)
    assert len(set(accuracy.values())) == 1, f"batch sizes disagree: {accuracy}"

    tokens = processor.tokenizer.encode(text)
    print(f"\nevaluate() on ScreenSpot-layout samples, Qwen2.5-VL {args.size} (random weights) on "
          f"{args.device}, screen {args.screen} ({frame.image_tokens} image tokens), "
          f"{len(tokens) + 1} output tokens per sample, {args.samples} samples, "
          f"median of {args.repeats}")
    base = statistics.median(rates[sizes[0]])
    print(f"{'batch size':<12}{'samples/s':>12}{'vs ' + str(sizes[0]):>10}")
    for batch in sizes:
        rate = statistics.median(rates[batch])
        print(f"{batch:<12}{rate:>12.2f}{rate / base:>9.2f}x")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
