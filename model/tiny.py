"""Random-weight Qwen2.5-VL and Qwen3-VL checkpoints built offline: for tests and speed measurements.

``size="tiny"`` is a two-layer model (a few MB) that loads in tens of
milliseconds and generates on a CPU, so tests can run the real processor ->
chat template -> ``generate`` -> decode path without downloading anything.
``size="3b"`` / ``"7b"`` have the real Qwen2.5-VL architecture sizes (random
weights) for measuring speed on a GPU; build those in memory with
:func:`build_model` rather than writing gigabytes to disk.

``family`` picks the published checkpoint the build copies: ``qwen2.5-vl``
(the default) and ``ui-tars`` give the same Qwen2.5-VL checkpoint (UI-TARS-1.5
*is* one, told apart by its name: put "UI-TARS" in OUTDIR's name or run it with
``--family ui-tars``); ``qwen3-vl`` gives a ``qwen3_vl`` checkpoint: patch 16,
DeepStack, interleaved M-RoPE, Qwen3-VL's chat template and image settings.

The tokenizer is a byte-level BPE trained on the fly with the Qwen2
pre-tokenizer, carrying Qwen's special tokens and the family's chat template,
so prompts tokenize and decode the way they do with the real checkpoint
(``<tool_call>`` survives ``skip_special_tokens`` exactly as there).

    python -m qwen_gui_agent.model.tiny OUTDIR [--size tiny|3b|7b] [--family qwen3-vl]
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

from qwen_gui_agent.actions.dialects import DEFAULT_FAMILY, FAMILIES, detect_family, get_dialect
from qwen_gui_agent.actions.frame import ImageBounds
from qwen_gui_agent.errors import UsageError
from qwen_gui_agent.model import chat_templates

if TYPE_CHECKING:
    from transformers import PreTrainedModel, PreTrainedTokenizerBase

Size = Literal["tiny", "3b", "7b"]
SEED = 1234

SPECIAL_TOKENS = (
    "<|endoftext|>", "<|im_start|>", "<|im_end|>", "<|object_ref_start|>",
    "<|object_ref_end|>", "<|box_start|>", "<|box_end|>", "<|quad_start|>",
    "<|quad_end|>", "<|vision_start|>", "<|vision_end|>", "<|vision_pad|>",
    "<|image_pad|>", "<|video_pad|>",
)
"""Qwen2.5-VL's special added tokens (skipped by ``skip_special_tokens``)."""
PLAIN_ADDED_TOKENS = ("<tool_call>", "</tool_call>")
"""Added tokens that are *not* special in Qwen2.5-VL: they stay in decoded text."""
QWEN3_PLAIN_TOKENS = ("<tool_response>", "</tool_response>", "<think>", "</think>")
"""Qwen3-VL's further plain added tokens (its template and Thinking outputs use them)."""

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


def _is_qwen3(family: str) -> bool:
    """Whether ``family`` (validated) is built as a Qwen3-VL checkpoint, else as a Qwen2.5-VL one."""
    return get_dialect(family).name == "qwen3-vl"


def _model_type(family: str) -> str:
    return "qwen3_vl" if _is_qwen3(family) else "qwen2_5_vl"


def _checkpoint_bounds(family: str) -> ImageBounds:
    """The pixel bounds in the published checkpoint's processor config (UI-TARS ships Qwen2.5-VL's)."""
    return get_dialect("qwen3-vl" if _is_qwen3(family) else "qwen2.5-vl").bounds


def _corpus(family: str) -> list[str]:
    """Training text: agent-style snippets plus the family's tool prompts, so prompts stay short."""
    dialect = get_dialect("qwen3-vl" if _is_qwen3(family) else "qwen2.5-vl")
    frame = dialect.frame(1920, 1080)
    return [_CORPUS_SEED] * 4 + [dialect.system_prompt(frame, env) for env in ("desktop", "android")]


def build_tokenizer(vocab_size: int = 2048, family: str = DEFAULT_FAMILY) -> PreTrainedTokenizerBase:
    """Train a byte-level BPE with the Qwen2 pre-tokenizer and wrap it as ``Qwen2Tokenizer``,
    with the added tokens of ``family``'s published tokenizer."""
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
    bpe.train_from_iterator(_corpus(family), trainer=trainer)
    state = json.loads(bpe.to_str())["model"]
    merges = [tuple(m) if isinstance(m, list) else tuple(m.split(" ")) for m in state["merges"]]
    tokenizer = Qwen2Tokenizer(
        vocab=state["vocab"], merges=merges, errors="replace",
        unk_token=None, bos_token=None, eos_token="<|im_end|>", pad_token="<|endoftext|>",
        model_max_length=131072,
    )
    tokenizer.add_tokens([AddedToken(t, special=True, normalized=False) for t in SPECIAL_TOKENS],
                         special_tokens=True)
    plain = PLAIN_ADDED_TOKENS + (QWEN3_PLAIN_TOKENS if _is_qwen3(family) else ())
    tokenizer.add_tokens([AddedToken(t, special=False, normalized=False) for t in plain])
    return tokenizer


def build_config(size: Size, tokenizer: PreTrainedTokenizerBase, family: str = DEFAULT_FAMILY) -> Any:
    """The model config for ``size`` and ``family`` whose special ids match ``tokenizer``."""
    if size not in _TEXT:
        raise UsageError(f"size must be one of {sorted(_TEXT)}, got {size!r}")
    ids = {t: tokenizer.convert_tokens_to_ids(t) for t in SPECIAL_TOKENS}
    vision_ids = dict(
        image_token_id=ids["<|image_pad|>"], video_token_id=ids["<|video_pad|>"],
        vision_start_token_id=ids["<|vision_start|>"], vision_end_token_id=ids["<|vision_end|>"],
    )
    token_ids = dict(bos_token_id=ids["<|endoftext|>"], eos_token_id=ids["<|im_end|>"],
                     pad_token_id=ids["<|endoftext|>"])
    if _is_qwen3(family):
        if size != "tiny":
            raise UsageError(f"a {family} build has size 'tiny' only; 3b and 7b are Qwen2.5-VL's sizes")
        return _qwen3_config(_round_up(len(tokenizer), 64), token_ids, vision_ids)
    from transformers import Qwen2_5_VLConfig

    text = dict(_TEXT[size])
    vision = _VISION["tiny" if size == "tiny" else "full"]
    vocab = text.pop("vocab_size") or _round_up(len(tokenizer), 64)
    if vocab < len(tokenizer):
        raise UsageError(f"vocab_size {vocab} is smaller than the tokenizer ({len(tokenizer)})")
    mrope, tie = text.pop("mrope_section"), text.pop("tie")
    return Qwen2_5_VLConfig(
        text_config=dict(
            **text, vocab_size=vocab, rms_norm_eps=1e-6, hidden_act="silu",
            rope_parameters={"rope_type": "default", "rope_theta": 1000000.0,
                             "mrope_section": mrope},
            **token_ids, tie_word_embeddings=tie,
        ),
        vision_config=dict(
            **vision, out_hidden_size=text["hidden_size"], patch_size=14,
            spatial_merge_size=2, temporal_patch_size=2, window_size=112,
            tokens_per_second=2, hidden_act="silu", in_channels=3,
        ),
        **vision_ids, tie_word_embeddings=tie,
    )


def _qwen3_config(vocab: int, token_ids: dict[str, int], vision_ids: dict[str, int]) -> Any:
    """A two-layer ``Qwen3VLConfig`` holding Qwen3-VL's constraints: the M-RoPE sections sum to
    half the head dim, DeepStack taps a vision layer that exists and feeds a text layer that
    exists, the vision output is the text width, and the position table is a square grid."""
    from transformers import Qwen3VLConfig

    hidden, heads = 128, 4
    head_dim = hidden // heads
    return Qwen3VLConfig(
        text_config=dict(
            hidden_size=hidden, intermediate_size=256, num_hidden_layers=2,
            num_attention_heads=heads, num_key_value_heads=2, head_dim=head_dim,
            vocab_size=vocab, max_position_embeddings=32768, rms_norm_eps=1e-6,
            hidden_act="silu", tie_word_embeddings=False, **token_ids,
            rope_parameters={"rope_type": "default", "rope_theta": 5000000.0,
                             "mrope_section": [6, 5, 5], "mrope_interleaved": True},
        ),
        vision_config=dict(
            depth=2, hidden_size=64, intermediate_size=128, num_heads=2, in_channels=3,
            hidden_act="gelu_pytorch_tanh", patch_size=16, spatial_merge_size=2,
            temporal_patch_size=2, out_hidden_size=hidden, num_position_embeddings=16 * 16,
            deepstack_visual_indexes=[1],
        ),
        **vision_ids, tie_word_embeddings=False,
    )


def build_model(
    size: Size = "tiny", *, family: str = DEFAULT_FAMILY, device: str | None = None,
    dtype: Any = None, attn_implementation: str | None = None,
) -> tuple[PreTrainedModel, Any]:
    """Build ``(model, processor)`` in memory, seeded; large sizes straight on ``device``."""
    import torch
    from transformers import GenerationConfig

    from qwen_gui_agent.model.architectures import architecture
    from qwen_gui_agent.model.processor import build_processor

    tokenizer = build_tokenizer(family=family)
    config = build_config(size, tokenizer, family)
    if attn_implementation:
        config._attn_implementation = attn_implementation
    arch = architecture(config.model_type)
    torch.manual_seed(SEED)
    default_dtype = torch.get_default_dtype()
    torch.set_default_dtype(dtype or torch.float32)  # build 7B in bf16 directly, not via fp32
    try:
        with torch.device(device or "cpu"):
            model = arch.load_class()(config)
    finally:
        torch.set_default_dtype(default_dtype)
    model.eval()
    model.generation_config = GenerationConfig(
        bos_token_id=config.text_config.bos_token_id,
        eos_token_id=[config.text_config.eos_token_id, config.text_config.pad_token_id],
        pad_token_id=config.text_config.pad_token_id, do_sample=False,
    )
    processor = build_processor(tokenizer, chat_template=_chat_template(family),
                                bounds=_checkpoint_bounds(family), model_type=arch.model_type)
    return model, processor


def _chat_template(family: str) -> str:
    return chat_templates.QWEN3_VL if _is_qwen3(family) else chat_templates.QWEN25_VL


def build_tiny_model(outdir: str | Path, size: Size = "tiny", family: str = DEFAULT_FAMILY) -> Path:
    """Write a loadable checkpoint (weights, config, tokenizer, processor) to ``outdir``."""
    from qwen_gui_agent.model.architectures import architecture

    outdir = Path(outdir)
    model, processor = build_model(size, family=family)
    outdir.mkdir(parents=True, exist_ok=True)
    model.save_pretrained(outdir)
    processor.tokenizer.save_pretrained(outdir)
    arch, bounds = architecture(_model_type(family)), _checkpoint_bounds(family)
    # The file layout of the published checkpoints, so loading takes the same path.
    shared = {"patch_size": arch.patch_size, "temporal_patch_size": 2, "merge_size": 2,
              "image_mean": list(arch.image_mean), "image_std": list(arch.image_std)}
    if arch.qwen3:
        preprocessor = {"size": {"longest_edge": bounds.max_pixels, "shortest_edge": bounds.min_pixels},
                        **shared, "image_processor_type": "Qwen2VLImageProcessorFast",
                        "processor_class": "Qwen3VLProcessor"}
    else:
        preprocessor = {"min_pixels": bounds.min_pixels, "max_pixels": bounds.max_pixels, **shared,
                        "image_processor_type": "Qwen2VLImageProcessor",
                        "processor_class": "Qwen2_5_VLProcessor"}
    (outdir / "preprocessor_config.json").write_text(json.dumps(preprocessor, indent=2))
    (outdir / "chat_template.json").write_text(json.dumps({"chat_template": _chat_template(family)}))
    return outdir


def cached_tiny_model(family: str = DEFAULT_FAMILY) -> Path:
    """The tiny checkpoint of ``family`` in the user's cache, built on first use (``--model tiny``).

    It lets anyone run the whole pipeline offline before downloading real
    weights; with random weights it solves nothing. UI-TARS shares the
    Qwen2.5-VL checkpoint (its caller passes the family).
    """
    import os

    from qwen_gui_agent.version import __version__

    cache = Path(os.environ.get("XDG_CACHE_HOME", Path.home() / ".cache"))
    name = f"tiny-qwen3-vl-{__version__}" if _is_qwen3(family) else f"tiny-{__version__}"
    path = cache / "qwen-gui-agent" / name
    if not (path / "model.safetensors").exists():
        build_tiny_model(path, family=family)
    return path


def _round_up(n: int, multiple: int) -> int:
    return -(-n // multiple) * multiple


def main(argv: list[str] | None = None) -> int:
    """Command line: build a random-weight checkpoint into OUTDIR."""
    import sys

    parser = argparse.ArgumentParser(prog="python -m qwen_gui_agent.model.tiny",
                                     description=__doc__.split("\n\n")[0])
    parser.add_argument("outdir", type=Path)
    parser.add_argument("--size", choices=sorted(_TEXT), default="tiny",
                        help="tiny (a few MB) or the real Qwen2.5-VL 3B/7B architecture, random weights")
    parser.add_argument("--family", choices=FAMILIES, default=DEFAULT_FAMILY,
                        help="the published checkpoint to copy (ui-tars: a Qwen2.5-VL checkpoint)")
    args = parser.parse_args(argv)
    try:
        path = build_tiny_model(args.outdir, args.size, args.family)
    except UsageError as exc:
        parser.error(str(exc))
    detected = detect_family({"model_type": _model_type(args.family)}, str(path))
    if detected != args.family:  # only UI-TARS: a Qwen2.5-VL checkpoint told apart by its name
        print(f"note: a run detects {path.name!r} as {detected}: pass --family {args.family}, "
              "or put UI-TARS in the folder's name", file=sys.stderr)
    print(path)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
