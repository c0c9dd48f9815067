"""Random-weight Qwen2.5-VL checkpoints built offline: for tests and speed measurements.

``size="tiny"`` is a two-layer model (about 3 MB) that loads in tens of
milliseconds and generates on a CPU, so tests can run the real processor ->
chat template -> ``generate`` -> decode path without downloading anything.
``size="3b"`` / ``"7b"`` have the real architecture sizes (random weights) for
measuring speed on a GPU; build those in memory with :func:`build_model`
rather than writing gigabytes to disk.

The tokenizer is a byte-level BPE trained on the fly with the Qwen2
pre-tokenizer, carrying Qwen's special tokens and the Qwen2.5-VL chat template,
so prompts tokenize and decode the way they do with the real checkpoint
(``<tool_call>`` survives ``skip_special_tokens`` exactly as there).

    python -m qwen_gui_agent.model.tiny OUTDIR [--size tiny|3b|7b]
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

from qwen_gui_agent.errors import UsageError

if TYPE_CHECKING:
    from transformers import PreTrainedModel, PreTrainedTokenizerBase

Size = Literal["tiny", "3b", "7b"]
SEED = 1234

CHAT_TEMPLATE = (
    "{% set image_count = namespace(value=0) %}{% set video_count = namespace(value=0) %}"
    "{% for message in messages %}{% if loop.first and message['role'] != 'system' %}"
    "<|im_start|>system\nYou are a helpful assistant.<|im_end|>\n{% endif %}"
    "<|im_start|>{{ message['role'] }}\n{% if message['content'] is string %}"
    "{{ message['content'] }}<|im_end|>\n{% else %}{% for content in message['content'] %}"
    "{% if content['type'] == 'image' or 'image' in content or 'image_url' in content %}"
    "{% set image_count.value = image_count.value + 1 %}{% if add_vision_id %}"
    "Picture {{ image_count.value }}: {% endif %}<|vision_start|><|image_pad|><|vision_end|>"
    "{% elif content['type'] == 'video' or 'video' in content %}"
    "{% set video_count.value = video_count.value + 1 %}{% if add_vision_id %}"
    "Video {{ video_count.value }}: {% endif %}<|vision_start|><|video_pad|><|vision_end|>"
    "{% elif 'text' in content %}{{ content['text'] }}{% endif %}{% endfor %}<|im_end|>\n"
    "{% endif %}{% endfor %}{% if add_generation_prompt %}<|im_start|>assistant\n{% endif %}"
)
"""Qwen2.5-VL-Instruct's processor chat template, verbatim."""

SPECIAL_TOKENS = (
    "<|endoftext|>", "<|im_start|>", "<|im_end|>", "<|object_ref_start|>",
    "<|object_ref_end|>", "<|box_start|>", "<|box_end|>", "<|quad_start|>",
    "<|quad_end|>", "<|vision_start|>", "<|vision_end|>", "<|vision_pad|>",
    "<|image_pad|>", "<|video_pad|>",
)
"""Qwen2.5-VL's special added tokens (skipped by ``skip_special_tokens``)."""
PLAIN_ADDED_TOKENS = ("<tool_call>", "</tool_call>")
"""Added tokens that are *not* special in Qwen2.5-VL: they stay in decoded text."""

_CORPUS_SEED = """You are a helpful assistant.
# Tools
You may call one or more functions to assist with the user query.
You are provided with function signatures within <tools></tools> XML tags:
For each function call, return a json object with function name and arguments within
{"name": "computer_use", "arguments": {"action": "left_click", "coordinate": [1234, 567]}}
{"name": "mobile_use", "arguments": {"action": "click", "coordinate": [540, 1200]}}
{"name": "computer_use", "arguments": {"action": "type", "text": "hello world"}}
{"name": "computer_use", "arguments": {"action": "key", "keys": ["ctrl", "c"]}}
{"name": "computer_use", "arguments": {"action": "scroll", "pixels": -300}}
{"name": "mobile_use", "arguments": {"action": "swipe", "coordinate": [1, 2], "coordinate2": [3, 4]}}
{"name": "mobile_use", "arguments": {"action": "system_button", "button": "Back"}}
{"name": "mobile_use", "arguments": {"action": "open", "text": "Settings"}}
{"name": "computer_use", "arguments": {"action": "terminate", "status": "success"}}
{"name": "computer_use", "arguments": {"action": "wait", "time": 2}}
The user query: Open the settings app and turn on dark mode.
Task progress (You have done the following operation on the current device): Step 1: ;
The screen's resolution is 1932x1092. mouse_move left_click_drag right_click middle_click
double_click long_press answer Home Menu Enter failure description required type object
Thought: I should click the search button to find the file. Action:
"""

_TEXT: dict[str, dict[str, Any]] = {
    "tiny": dict(hidden_size=128, intermediate_size=256, num_hidden_layers=2,
                 num_attention_heads=4, num_key_value_heads=2, vocab_size=None,
                 max_position_embeddings=32768, mrope_section=[4, 6, 6], tie=False),
    "3b": dict(hidden_size=2048, intermediate_size=11008, num_hidden_layers=36,
               num_attention_heads=16, num_key_value_heads=2, vocab_size=151936,
               max_position_embeddings=128000, mrope_section=[16, 24, 24], tie=True),
    "7b": dict(hidden_size=3584, intermediate_size=18944, num_hidden_layers=28,
               num_attention_heads=28, num_key_value_heads=4, vocab_size=152064,
               max_position_embeddings=128000, mrope_section=[16, 24, 24], tie=False),
}
"""Text-model sizes; 3B and 7B are the published Qwen2.5-VL-Instruct configs."""

_VISION = dict(
    # Window attention only: a full-attention block over a 1440p screenshot's ~18k
    # patches would dominate CPU test time.
    tiny=dict(depth=2, hidden_size=64, intermediate_size=128, num_heads=2,
              fullatt_block_indexes=[]),
    full=dict(depth=32, hidden_size=1280, intermediate_size=3420, num_heads=16,
              fullatt_block_indexes=[7, 15, 23, 31]),
)


def _corpus() -> list[str]:
    """Training text: agent-style snippets plus both tool prompts, so prompts stay short."""
    from qwen_gui_agent.actions.frame import Frame
    from qwen_gui_agent.actions.tools import TOOL_NAMES, system_prompt

    prompts = [system_prompt(name, Frame(1920, 1080)) for name in TOOL_NAMES]
    return [_CORPUS_SEED] * 4 + prompts


def build_tokenizer(vocab_size: int = 2048) -> PreTrainedTokenizerBase:
    """Train a byte-level BPE with the Qwen2 pre-tokenizer and wrap it as ``Qwen2Tokenizer``."""
    from tokenizers import (
        Regex,
        Tokenizer,
        decoders,
        models,
        normalizers,
        pre_tokenizers,
        trainers,
    )
    from transformers import AddedToken
    from transformers.models.qwen2.tokenization_qwen2 import (
        PRETOKENIZE_REGEX,
        Qwen2Tokenizer,
    )

    bpe = Tokenizer(models.BPE())
    bpe.normalizer = normalizers.NFC()
    bpe.pre_tokenizer = pre_tokenizers.Sequence([
        pre_tokenizers.Split(Regex(PRETOKENIZE_REGEX), behavior="isolated"),
        pre_tokenizers.ByteLevel(add_prefix_space=False, use_regex=False),
    ])
    bpe.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(
        vocab_size=vocab_size, min_frequency=1, show_progress=False,
        initial_alphabet=pre_tokenizers.ByteLevel.alphabet(),
        special_tokens=["<|endoftext|>"],
    )
    bpe.train_from_iterator(_corpus(), trainer=trainer)
    state = json.loads(bpe.to_str())["model"]
    merges = [tuple(m) if isinstance(m, list) else tuple(m.split(" ")) for m in state["merges"]]
    tokenizer = Qwen2Tokenizer(
        vocab=state["vocab"], merges=merges, errors="replace",
        unk_token=None, bos_token=None, eos_token="<|im_end|>", pad_token="<|endoftext|>",
        model_max_length=131072,
    )
    tokenizer.add_tokens([AddedToken(t, special=True, normalized=False) for t in SPECIAL_TOKENS],
                         special_tokens=True)
    tokenizer.add_tokens([AddedToken(t, special=False, normalized=False) for t in PLAIN_ADDED_TOKENS])
    return tokenizer


def build_config(size: Size, tokenizer: PreTrainedTokenizerBase) -> Any:
    """A ``Qwen2_5_VLConfig`` for ``size`` whose special ids match ``tokenizer``."""
    from transformers import Qwen2_5_VLConfig

    if size not in _TEXT:
        raise UsageError(f"size must be one of {sorted(_TEXT)}, got {size!r}")
    text = dict(_TEXT[size])
    vision = _VISION["tiny" if size == "tiny" else "full"]
    ids = {t: tokenizer.convert_tokens_to_ids(t) for t in SPECIAL_TOKENS}
    vocab = text.pop("vocab_size") or _round_up(len(tokenizer), 64)
    if vocab < len(tokenizer):
        raise UsageError(f"vocab_size {vocab} is smaller than the tokenizer ({len(tokenizer)})")
    mrope, tie = text.pop("mrope_section"), text.pop("tie")
    return Qwen2_5_VLConfig(
        text_config=dict(
            **text, vocab_size=vocab, rms_norm_eps=1e-6, hidden_act="silu",
            rope_parameters={"rope_type": "default", "rope_theta": 1000000.0,
                             "mrope_section": mrope},
            bos_token_id=ids["<|endoftext|>"], eos_token_id=ids["<|im_end|>"],
            pad_token_id=ids["<|endoftext|>"], tie_word_embeddings=tie,
        ),
        vision_config=dict(
            **vision, out_hidden_size=text["hidden_size"], patch_size=14,
            spatial_merge_size=2, temporal_patch_size=2, window_size=112,
            tokens_per_second=2, hidden_act="silu", in_channels=3,
        ),
        image_token_id=ids["<|image_pad|>"], video_token_id=ids["<|video_pad|>"],
        vision_start_token_id=ids["<|vision_start|>"], vision_end_token_id=ids["<|vision_end|>"],
        tie_word_embeddings=tie,
    )


def build_model(
    size: Size = "tiny", *, device: str | None = None, dtype: Any = None,
    attn_implementation: str | None = None,
) -> tuple[PreTrainedModel, Any]:
    """Build ``(model, processor)`` in memory, seeded; large sizes straight on ``device``."""
    import torch
    from transformers import GenerationConfig, Qwen2_5_VLForConditionalGeneration

    from qwen_gui_agent.model.processor import build_processor

    tokenizer = build_tokenizer()
    config = build_config(size, tokenizer)
    if attn_implementation:
        config._attn_implementation = attn_implementation
    torch.manual_seed(SEED)
    default_dtype = torch.get_default_dtype()
    torch.set_default_dtype(dtype or torch.float32)  # build 7B in bf16 directly, not via fp32
    try:
        with torch.device(device or "cpu"):
            model = Qwen2_5_VLForConditionalGeneration(config)
    finally:
        torch.set_default_dtype(default_dtype)
    model.eval()
    model.generation_config = GenerationConfig(
        bos_token_id=config.text_config.bos_token_id,
        eos_token_id=[config.text_config.eos_token_id, config.text_config.pad_token_id],
        pad_token_id=config.text_config.pad_token_id, do_sample=False,
    )
    return model, build_processor(tokenizer, chat_template=CHAT_TEMPLATE)


def build_tiny_model(outdir: str | Path, size: Size = "tiny") -> Path:
    """Write a loadable checkpoint (weights, config, tokenizer, processor) to ``outdir``."""
    from qwen_gui_agent.actions.frame import ImageBounds

    outdir = Path(outdir)
    bounds = ImageBounds()
    model, processor = build_model(size)
    outdir.mkdir(parents=True, exist_ok=True)
    model.save_pretrained(outdir)
    processor.tokenizer.save_pretrained(outdir)
    # The file layout of the published checkpoints, so loading takes the same path.
    preprocessor = {
        "min_pixels": bounds.min_pixels, "max_pixels": bounds.max_pixels, "patch_size": 14,
        "temporal_patch_size": 2, "merge_size": 2, "image_mean": list(_CLIP_MEAN),
        "image_std": list(_CLIP_STD), "image_processor_type": "Qwen2VLImageProcessor",
        "processor_class": "Qwen2_5_VLProcessor",
    }
    (outdir / "preprocessor_config.json").write_text(json.dumps(preprocessor, indent=2))
    (outdir / "chat_template.json").write_text(json.dumps({"chat_template": CHAT_TEMPLATE}))
    return outdir


def cached_tiny_model() -> Path:
    """The tiny checkpoint in the user's cache, built on first use (``--model tiny``).

    It lets anyone run the whole pipeline offline before downloading real
    weights; with random weights it solves nothing.
    """
    import os

    from qwen_gui_agent.version import __version__

    cache = Path(os.environ.get("XDG_CACHE_HOME", Path.home() / ".cache"))
    path = cache / "qwen-gui-agent" / f"tiny-{__version__}"
    if not (path / "model.safetensors").exists():
        build_tiny_model(path)
    return path


_CLIP_MEAN = (0.48145466, 0.4578275, 0.40821073)
_CLIP_STD = (0.26862954, 0.26130258, 0.27577711)


def _round_up(n: int, multiple: int) -> int:
    return -(-n // multiple) * multiple


def main(argv: list[str] | None = None) -> int:
    """Command line: build a random-weight checkpoint into OUTDIR."""
    parser = argparse.ArgumentParser(prog="python -m qwen_gui_agent.model.tiny",
                                     description=__doc__.split("\n\n")[0])
    parser.add_argument("outdir", type=Path)
    parser.add_argument("--size", choices=sorted(_TEXT), default="tiny",
                        help="tiny (~3 MB) or the real 3B/7B architecture with random weights")
    args = parser.parse_args(argv)
    path = build_tiny_model(args.outdir, args.size)
    print(path)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
