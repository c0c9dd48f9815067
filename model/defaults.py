"""Default checkpoints, in a module light enough for the CLI's ``--help`` to import."""

DEFAULT_MODEL = "Qwen/Qwen2.5-VL-7B-Instruct"
"""Needs a GPU (about 17 GB in bf16) to be usable."""
SMALL_MODEL = "Qwen/Qwen2.5-VL-3B-Instruct"
"""The practical default without a GPU: slow on a CPU, but it works."""
TINY_MODEL = "tiny"
"""``--model tiny``: a random-weight checkpoint of the family (Qwen2.5-VL unless
``--family`` says otherwise) built offline. It exercises the
whole pipeline (capture, prompt, generate, parse, act, record) without
downloading anything, and solves nothing."""
