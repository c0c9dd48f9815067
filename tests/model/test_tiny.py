"""The offline tiny checkpoint: real file layout, Qwen tokens, deterministic, real sizes."""

from __future__ import annotations

import hashlib
import json
import subprocess
import sys
from pathlib import Path

import pytest
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
    assert "--size" in result.stdout and "--family" in result.stdout and "OUTDIR" in result.stdout.upper()


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


def test_qwen3_checkpoint_has_its_published_settings(tiny_family_dir) -> None:
    """A qwen3_vl checkpoint: patch 16 (factor 32), mean/std 0.5, the size dict, its own template."""
    folder = tiny_family_dir("qwen3-vl")
    config = json.loads((folder / "config.json").read_text())
    assert config["model_type"] == "qwen3_vl"
    assert config["architectures"] == ["Qwen3VLForConditionalGeneration"]
    pre = json.loads((folder / "preprocessor_config.json").read_text())
    assert pre["size"] == {"longest_edge": 16777216, "shortest_edge": 65536}
    assert (pre["patch_size"], pre["merge_size"], pre["image_mean"], pre["image_std"]) == (
        16, 2, [0.5] * 3, [0.5] * 3)
    assert pre["processor_class"] == "Qwen3VLProcessor"
    template = json.loads((folder / "chat_template.json").read_text())["chat_template"]
    assert template == chat_templates.QWEN3_VL
    assert (folder / "model.safetensors").stat().st_size < 8_000_000
    tokenizer = AutoTokenizer.from_pretrained(folder)
    for token in tiny.SPECIAL_TOKENS + tiny.PLAIN_ADDED_TOKENS + tiny.QWEN3_PLAIN_TOKENS:
        assert len(tokenizer.encode(token, add_special_tokens=False)) == 1, token
    ids = tokenizer.encode("<think>\nx\n</think>", add_special_tokens=False)
    assert tokenizer.decode(ids, skip_special_tokens=True) == "<think>\nx\n</think>"


def test_qwen3_config_meets_the_architecture_constraints(tiny_family_model) -> None:
    model, processor = tiny_family_model("qwen3-vl")
    text, vision = model.config.text_config, model.config.vision_config
    assert sum(text.rope_parameters["mrope_section"]) == text.head_dim // 2
    assert all(0 <= i < vision.depth for i in vision.deepstack_visual_indexes)
    assert len(vision.deepstack_visual_indexes) <= text.num_hidden_layers
    assert vision.out_hidden_size == text.hidden_size
    assert int(vision.num_position_embeddings ** 0.5) ** 2 == vision.num_position_embeddings
    assert model.config.image_token_id == processor.tokenizer.convert_tokens_to_ids("<|image_pad|>")
    assert text.eos_token_id == processor.tokenizer.convert_tokens_to_ids("<|im_end|>")


def test_ui_tars_build_is_the_qwen25_checkpoint(tiny_family_dir, tiny_model_dir) -> None:
    """UI-TARS-1.5 is a Qwen2.5-VL checkpoint: only the folder's name tells them apart."""
    folder = tiny_family_dir("ui-tars")
    assert folder.name == "UI-TARS-1.5-tiny"
    for name in ("model.safetensors", "tokenizer.json", "config.json", "preprocessor_config.json",
                 "chat_template.json"):
        assert _digest(folder / name) == _digest(tiny_model_dir / name), name


def test_cli_builds_each_family_deterministically(tiny_family_dir, tmp_path, capsys) -> None:
    assert tiny.main([str(tmp_path / "q3"), "--family", "qwen3-vl"]) == 0
    for name in ("model.safetensors", "tokenizer.json", "config.json"):
        assert _digest(tmp_path / "q3" / name) == _digest(tiny_family_dir("qwen3-vl") / name)
    assert tiny.main([str(tmp_path / "UI-TARS-1.5-again"), "--family", "ui-tars"]) == 0
    assert "note:" not in capsys.readouterr().err
    assert tiny.main([str(tmp_path / "plain"), "--family", "ui-tars"]) == 0
    assert "pass --family ui-tars" in capsys.readouterr().err  # the name does not say UI-TARS
    with pytest.raises(SystemExit) as exited:
        tiny.main([str(tmp_path / "big"), "--family", "qwen3-vl", "--size", "7b"])
    assert exited.value.code == 2
    assert "size 'tiny' only" in capsys.readouterr().err
