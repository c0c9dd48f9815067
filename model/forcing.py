"""Make a real model emit exact text: a logits processor that plays a script.

Tests, benchmarks and scripted agent runs need the real generate -> decode ->
parse path but a known answer. :class:`ForcedOutput` masks every logit except
the next token of the planned text, then the end-of-turn token, so greedy or
sampled decoding of any Qwen2.5-VL (the tiny random one included) produces
exactly that text. Given several texts it plays one per ``generate`` call::

    forced = ForcedOutput([tool_call_text(call1), tool_call_text(call2)], tokenizer)
    policy = QwenPolicy(model=path, logits_processor=forced)
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

import torch
from transformers import LogitsProcessor

from qwen_gui_agent.errors import ScriptExhausted, UsageError


def tool_call_text(call: dict[str, Any], thought: str | None = None) -> str:
    """The model-format text of one tool call (optionally preceded by a thought)."""
    body = f"<tool_call>\n{json.dumps(call, ensure_ascii=False)}\n</tool_call>"
    return f"{thought}\n{body}" if thought else body


class ForcedOutput(LogitsProcessor):
    """Force each ``generate`` call to produce the next text of ``outputs``, then stop.

    A new generation is recognised when the sequences did not grow by exactly the
    tokens forced last time (a new prompt), so the same instance serves a whole
    scripted run. A batched call (``model.batched``) takes the next texts in row
    order, one per row. ``used`` counts the outputs played so far.
    """

    def __init__(self, outputs: str | Sequence[str], tokenizer: Any,
                 *, end_token: str = "<|im_end|>") -> None:
        texts = [outputs] if isinstance(outputs, str) else list(outputs)
        if not texts:
            raise UsageError("ForcedOutput needs at least one output text")
        end_id = tokenizer.convert_tokens_to_ids(end_token)
        if end_id is None or end_id == tokenizer.unk_token_id:
            raise UsageError(f"the tokenizer has no {end_token!r} token")
        self.texts = texts
        self.plans = [tokenizer.encode(t, add_special_tokens=False) + [end_id] for t in texts]
        self.used = 0
        self._rows: list[list[int]] = []
        """The plan of each row of the current generation."""
        self._start = 0
        self._last: tuple[int, list[int]] | None = None
        """``(sequence length, token id per row)`` of the tokens forced last."""

    @property
    def longest(self) -> int:
        """Tokens in the longest planned output, end token included (for ``max_new_tokens``)."""
        return max(len(p) for p in self.plans)

    def __call__(self, input_ids: torch.LongTensor, scores: torch.FloatTensor) -> torch.FloatTensor:
        rows, length = input_ids.shape
        if not self._continuing(input_ids):
            self._begin(length, rows)
        position = length - self._start
        tokens = [plan[min(position, len(plan) - 1)] for plan in self._rows]
        forced = torch.full_like(scores, float("-inf"))
        forced[torch.arange(rows), torch.tensor(tokens)] = 0.0
        self._last = (length, tokens)
        return forced

    def _continuing(self, input_ids: torch.LongTensor) -> bool:
        """Whether ``input_ids`` is the last call's sequences plus the tokens forced then.

        A row that already ended gets padding from ``generate`` instead of the forced
        token, so only rows still inside their plan are compared.
        """
        if self._last is None or input_ids.shape[0] != len(self._rows):
            return False
        length, tokens = self._last
        if input_ids.shape[1] != length + 1:
            return False
        before = length - self._start
        return all(int(input_ids[row, -1]) == token
                   for row, (plan, token) in enumerate(zip(self._rows, tokens))
                   if before < len(plan))

    def _begin(self, prompt_length: int, rows: int) -> None:
        if self.used + rows > len(self.plans):
            raise ScriptExhausted(
                f"the script has {len(self.plans)} output(s) and {self.used} were used; "
                f"the policy was asked for {rows} more decision(s)"
            )
        self._rows = self.plans[self.used:self.used + rows]
        self._start = prompt_length
        self.used += rows
