"""Many decisions from one ``generate`` call: the local model's batched path.

An offline evaluation asks the same question of thousands of independent
screenshots; one ``generate`` over a batch keeps a GPU busy where one-by-one
decoding leaves it idle between tiny matrix products. Nothing about a
decision changes: each request is prompted by the policy's own
:meth:`~qwen_gui_agent.model.prompted.PromptedPolicy.prompt`, its inputs are
built by :meth:`QwenPolicy.prepare` exactly as for one decision, and each
answer is parsed by :meth:`~qwen_gui_agent.model.prompted.PromptedPolicy.decision`.
Only the collation is new: the rows are padded on the LEFT (a decoder-only
model continues the last position of every row, so the padding must not sit
between a prompt and its answer), the attention mask hides the padding, and
Qwen2.5-VL derives its rotary positions from that mask, so each row decodes as
it would alone (greedy decoding gives the same text; the tests check it).
"""

from __future__ import annotations

import time
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any, Union

import torch

from qwen_gui_agent.errors import FeedbackError, ModelOutOfMemory, UsageError
from qwen_gui_agent.model.prompted import Completion

if TYPE_CHECKING:
    from qwen_gui_agent.actions.decision import Decision, HistoryEntry
    from qwen_gui_agent.actions.observation import Observation
    from qwen_gui_agent.model.local import QwenPolicy

Request = tuple[str, "Observation", Sequence["HistoryEntry"]]
"""``(task, observation, history)``: the arguments of one ``decide`` call."""
Outcome = Union["Decision", FeedbackError]
"""A decision, or the error its output raised (unparsable output, a point off the image)."""


def decide_batch(policy: QwenPolicy, requests: Sequence[Request]) -> list[Outcome]:
    """``policy.decide`` for every request, with one ``generate`` call for all of them.

    Each item is the :class:`Decision` ``decide`` would return, or the
    :class:`FeedbackError` it would raise; backend failures (out of memory) raise.
    """
    if not requests:
        return []
    if not hasattr(policy, "prepare") or not hasattr(policy, "model"):
        raise UsageError(f"batched decoding needs a local QwenPolicy, got {type(policy).__name__}")
    prompts = [policy.prompt(*request) for request in requests]
    tokenizer = policy.processor.tokenizer
    pad_id = tokenizer.pad_token_id if tokenizer.pad_token_id is not None else tokenizer.eos_token_id
    start = time.perf_counter()
    try:
        inputs = collate([policy.prepare(p.messages) for p in prompts], pad_id)
        prepared = time.perf_counter()
        output = policy.generate(inputs, pad_token_id=pad_id)
    except torch.OutOfMemoryError as exc:
        torch.cuda.empty_cache()
        raise ModelOutOfMemory(
            f"the GPU ran out of memory on a batch of {len(requests)} ({exc}): use a smaller "
            f"batch size (--batch-size {max(1, len(requests) // 2)}) or a smaller max_pixels"
        ) from exc
    generated = time.perf_counter()
    width = inputs["input_ids"].shape[1]
    stops = _stop_ids(policy)
    share = len(requests)
    outcomes: list[Outcome] = []
    for row, prompt in enumerate(prompts):
        tokens = _until_stop(output[row, width:].tolist(), stops)
        text = tokenizer.decode(tokens, skip_special_tokens=True, clean_up_tokenization_spaces=False)
        completion = Completion(
            text=text, prompt_tokens=int(inputs["attention_mask"][row].sum()),
            output_tokens=len(tokens), preprocess_s=(prepared - start) / share,
            generate_s=(generated - prepared) / share)
        try:
            outcomes.append(policy.decision(prompt, completion))
        except FeedbackError as exc:
            outcomes.append(exc)
    return outcomes


def collate(items: Sequence[Mapping[str, Any]], pad_id: int) -> dict[str, Any]:
    """One batch from single-prompt model inputs: token rows padded on the left, images stacked.

    A tensor shaped like its item's ``input_ids`` is per token and gets padded
    (``input_ids`` with ``pad_id``, everything else with 0, so the attention
    mask hides the padding); any other tensor (``pixel_values``,
    ``image_grid_thw``) lists patches or images and is concatenated in row order.
    """
    items = [dict(item) for item in items]
    for item in items:
        item.setdefault("attention_mask", torch.ones_like(item["input_ids"]))
    width = max(item["input_ids"].shape[1] for item in items)
    batch: dict[str, Any] = {}
    for key in items[0]:
        values = [item[key] for item in items]
        if all(v.shape == item["input_ids"].shape for v, item in zip(values, items)):
            fill = pad_id if key == "input_ids" else 0
            batch[key] = torch.cat([
                torch.nn.functional.pad(v, (width - v.shape[1], 0), value=fill) for v in values])
        else:
            batch[key] = torch.cat(values)
    return batch


def _stop_ids(policy: QwenPolicy) -> set[int]:
    """The tokens that end a row's answer (what makes ``generate`` stop for a single prompt)."""
    eos = policy.model.generation_config.eos_token_id
    ids = eos if isinstance(eos, (list, tuple)) else [eos]
    return {int(i) for i in ids if i is not None}


def _until_stop(tokens: list[int], stops: set[int]) -> list[int]:
    """A row's new tokens up to and including its first stop token (the rest is padding)."""
    for index, token in enumerate(tokens):
        if token in stops:
            return tokens[:index + 1]
    return tokens
