"""The offline tiny checkpoint: real file layout, Qwen tokens, deterministic, real sizes."""

from __future__ import annotations

import hashlib
import json
import subprocess
import sys
from pathlib import Path

import torch
from transformers import AutoTokenizer, Qwen2_5_VLForConditionalGeneration

from qwen_gui_agent.model import chat_templates, tiny


def _digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def test_checkpoint_has_the_published_layout(tiny_model_dir: Path) -> None:
    names = {p.name for p in tiny_model_dir.iterdir()}
    assert {"config.json", "generation_config.json", "model.safetensors", "tokenizer.json",
            "tokenizer_config.json", "preprocessor_config.json", "chat_template.json"} <= names
    pre = json.loads((tiny_model_dir / "preprocessor_config.json").read_text())
    assert (pre["min_pixels"], pre["max_pixels"]) == (4 * 28 * 28, 16384 * 28 * 28)
    assert (tiny_model_dir / "model.safetensors").stat().st_size < 8_000_000
    template = json.loads((tiny_model_dir / "chat_template.json").read_text())["chat_template"]
    assert template == chat_templates.QWEN25_VL


def test_tokenizer_knows_qwen_tokens(tiny_model_dir: Path) -> None:
    tokenizer = AutoTokenizer.from_pretrained(tiny_model_dir)
    for token in tiny.SPECIAL_TOKENS + tiny.PLAIN_ADDED_TOKENS:
        ids = tokenizer.encode(token, add_special_tokens=False)
        assert len(ids) == 1 and tokenizer.convert_ids_to_tokens(ids[0]) == token
    text = '<|im_start|>思考 <tool_call>\n{"coordinate": [1234, 5]}\n</tool_call><|im_end|>'
    ids = tokenizer.encode(text, add_special_tokens=False)
    # <tool_call> is an added token but not a special one: it survives skip_special_tokens.
    assert tokenizer.decode(ids, skip_special_tokens=True) == (
        '思考 <tool_call>\n{"coordinate": [1234, 5]}\n</tool_call>')
    assert tokenizer.decode(ids) == text


def test_config_ids_match_tokenizer(tiny_model: tuple) -> None:
    model, processor = tiny_model
    tok = processor.tokenizer
    config = model.config
    assert config.image_token_id == tok.convert_tokens_to_ids("<|image_pad|>")
    assert config.vision_start_token_id == tok.convert_tokens_to_ids("<|vision_start|>")
    assert config.text_config.eos_token_id == tok.convert_tokens_to_ids("<|im_end|>")
    assert config.vision_config.out_hidden_size == config.text_config.hidden_size
    head_dim = config.text_config.hidden_size // config.text_config.num_attention_heads
    assert sum(config.text_config.rope_parameters["mrope_section"]) == head_dim // 2


def test_cli_build_is_deterministic(tiny_model_dir: Path, tmp_path: Path, capsys) -> None:
    assert tiny.main([str(tmp_path / "again")]) == 0
    assert capsys.readouterr().out.strip() == str(tmp_path / "again")
    for name in ("model.safetensors", "tokenizer.json", "config.json"):
        assert _digest(tmp_path / "again" / name) == _digest(tiny_model_dir / name)


def test_module_is_runnable_with_python_m() -> None:
    result = subprocess.run([sys.executable, "-m", "qwen_gui_agent.model.tiny", "--help"],
                            capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr
    assert "--size" in result.stdout and "OUTDIR" in result.stdout.upper()


def test_real_architecture_sizes() -> None:
    """3B / 7B configs have the published parameter counts (built on the meta device)."""
    tokenizer = tiny.build_tokenizer()
    counts = {}
    for size in ("3b", "7b"):
        config = tiny.build_config(size, tokenizer)
        with torch.device("meta"):
            model = Qwen2_5_VLForConditionalGeneration(config)
        counts[size] = sum(p.numel() for p in model.parameters())
        head_dim = config.text_config.hidden_size // config.text_config.num_attention_heads
        assert sum(config.text_config.rope_parameters["mrope_section"]) == head_dim // 2
    # Published: 3.75 B (tied embeddings) and 8.29 B parameters.
    assert 3.6e9 < counts["3b"] < 3.9e9
    assert 8.1e9 < counts["7b"] < 8.4e9
