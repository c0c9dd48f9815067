"""``QwenPolicy``: a Qwen2.5-VL, Qwen3-VL or UI-TARS-1.5 checkpoint run in-process through transformers.

Loads from a hub id or a local checkpoint directory; the model class and
processor follow its ``model_type`` (:mod:`qwen_gui_agent.model.architectures`),
the dialect its family. Defaults suit a GPU
(``Qwen/Qwen2.5-VL-7B-Instruct``, CUDA + bf16, flash-attention when installed,
else SDPA); without a GPU pick ``Qwen/Qwen2.5-VL-3B-Instruct`` (CPU float32,
slow but it works). Decoding is greedy unless ``do_sample=True``.

The screenshot is resized to the frame's model size before it reaches this
module, and the pixel bounds are widened per call so that size is a fixed point
of ``smart_resize``: model coordinates map back exactly. Inputs are built by the
fast path (:mod:`qwen_gui_agent.model.preprocess`: tensors on the model's
device, equal to the stock processor's), or by the stock processor where the
fast path does not reproduce the checkpoint's image processor.
"""

from __future__ import annotations

import importlib.util
import time
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import torch

from qwen_gui_agent.actions.dialects import Dialect, FamilyError, detect_family
from qwen_gui_agent.actions.frame import ImageBounds
from qwen_gui_agent.actions.prompt import images_of
from qwen_gui_agent.errors import ModelNotFound, ModelOutOfMemory, UsageError
from qwen_gui_agent.model.architectures import Architecture, architecture, read_config
from qwen_gui_agent.model.checkpoints import (
    DOWNLOAD_HINT,
    hub_problem,
    locate,
    looks_local,
    missing_parts,
)
from qwen_gui_agent.model.defaults import DEFAULT_MODEL, SMALL_MODEL
from qwen_gui_agent.model.preprocess import FastInputs
from qwen_gui_agent.model.processor import ImageOnlyProcessor, load_processor
from qwen_gui_agent.model.prompted import Completion, PromptedPolicy


class QwenPolicy(PromptedPolicy):
    """A local Qwen-VL checkpoint as a :class:`~qwen_gui_agent.model.policy.Policy`.

    ``model`` is a hub id, a checkpoint directory (``qwen2_5_vl``, ``qwen3_vl`` or
    ``qwen3_vl_moe``), or an already loaded model (then pass ``processor`` too).
    ``family`` (``qwen2.5-vl``, ``qwen3-vl``, ``ui-tars``) is read from the
    checkpoint's config when not given (UI-TARS-1.5 by its name, since its
    config is a Qwen2.5-VL one); a family whose resize factor is not the
    checkpoint's processor's (``--family qwen3-vl`` on a Qwen2.5-VL checkpoint)
    is a :class:`FamilyError`. ``min_pixels`` / ``max_pixels`` change the
    family's pixel budget: images are resized for the family, not by the
    checkpoint's processor settings, so the model's points map back exactly.
    ``logits_processor`` (e.g. :class:`~qwen_gui_agent.model.forcing.ForcedOutput`) is applied to every ``generate`` call. ``hub_kwargs`` (``revision``,
    ``local_files_only``, ``cache_dir``, ``token``) go to every ``from_pretrained``.
    ``fast_preprocess=False`` builds inputs with the stock processor even where the
    fast path applies (to compare the two, or to rule the fast path out).
    """

    def __init__(
        self,
        model: str | Path | Any = DEFAULT_MODEL,
        *,
        processor: ImageOnlyProcessor | None = None,
        device: str | torch.device | None = None,
        dtype: str | torch.dtype | None = None,
        attn_implementation: str | None = None,
        min_pixels: int | None = None,
        max_pixels: int | None = None,
        max_new_tokens: int = 256,
        do_sample: bool = False,
        temperature: float | None = None,
        top_p: float | None = None,
        family: Dialect | str | None = None,
        history_images: int = 0,
        extensions: Iterable[str] = (),
        logits_processor: Any = None,
        fast_preprocess: bool = True,
        **hub_kwargs: Any,
    ) -> None:
        self.device = torch.device(device or ("cuda" if torch.cuda.is_available() else "cpu"))
        self.dtype = _resolve_dtype(dtype, self.device)
        if isinstance(model, (str, Path)):
            self.name = str(model)
            arch = _load(self.name, lambda: architecture(
                read_config(self.name, **hub_kwargs).get("model_type")))
            processor = processor or _load(self.name, lambda: load_processor(
                self.name, min_pixels=min_pixels, max_pixels=max_pixels, **hub_kwargs))
            self.attn_implementation = attn_implementation or default_attention(self.device,
                                                                                 self.dtype)
            self.model = _load(self.name, lambda: _load_model(
                self.name, arch, self.device, self.dtype, self.attn_implementation, hub_kwargs))
        else:
            if processor is None:
                raise UsageError("pass the processor together with an already loaded model")
            if hub_kwargs:
                raise UsageError(f"hub options {sorted(hub_kwargs)} only apply when loading by name")
            self.name = getattr(model, "name_or_path", type(model).__name__)
            self.model = model
            self.device = model.device
            self.dtype = model.dtype
            self.attn_implementation = model.config._attn_implementation
        self.model.eval()
        self.processor = processor
        self._fast = FastInputs.for_processor(processor) if fast_preprocess else None
        super().__init__(
            family=family or detect_family(self.model.config.to_dict(), self.name),
            min_pixels=min_pixels, max_pixels=max_pixels,
            history_images=history_images, extensions=extensions,
        )
        _check_factor(processor.image_processor, self.image_bounds, self.family,
                      self.model.config.model_type)
        self.generate_kwargs: dict[str, Any] = {"max_new_tokens": max_new_tokens,
                                                "do_sample": do_sample}
        if do_sample:
            self.generate_kwargs.update(
                {k: v for k, v in (("temperature", temperature), ("top_p", top_p)) if v is not None})
        self.logits_processor = logits_processor

    def __repr__(self) -> str:
        return (f"QwenPolicy(model={self.name!r}, device={str(self.device)!r}, "
                f"dtype={self.dtype}, attn={self.attn_implementation!r})")

    def prepare(self, messages: list[dict[str, Any]]) -> dict[str, Any]:
        """Model inputs for ``messages`` on the model's device (no resizing happens).

        The stock processor runs only where :class:`FastInputs` does not apply: an
        image processor other than the stock Qwen2-VL classes (a subclass may change
        any step) or one with resize, RGB conversion, rescale or normalisation off,
        whose output the fast path would not reproduce.
        """
        images = images_of(messages)
        text = self.processor.apply_chat_template(messages, tokenize=False,
                                                  add_generation_prompt=True)
        areas = [image.width * image.height for image in images]
        # Widen the bounds around the (already resized) images: smart_resize keeps them as they are.
        bounds = self.image_bounds
        low, high = min([bounds.min_pixels, *areas]), max([bounds.max_pixels, *areas])
        if self._fast is not None:
            return self._fast(text, images, device=self.device, min_pixels=low, max_pixels=high)
        inputs = self.processor(text=[text], images=images or None, return_tensors="pt",
                                images_kwargs={"size": {"shortest_edge": low, "longest_edge": high}})
        return inputs.to(self.device)

    def generate(self, inputs: Any, **overrides: Any) -> torch.Tensor:
        """``model.generate`` with this policy's settings (and logits processor), finished on
        the device before it returns, so a caller's clock measures the generation."""
        kwargs = {**self.generate_kwargs, **overrides}
        if self.logits_processor is not None:
            from transformers import LogitsProcessorList
            kwargs["logits_processor"] = LogitsProcessorList([self.logits_processor])
        with torch.inference_mode():
            output = self.model.generate(**inputs, **kwargs)
        if self.device.type == "cuda":
            torch.cuda.synchronize(self.device)
        return output

    def _complete(self, messages: list[dict[str, Any]]) -> Completion:
        start = time.perf_counter()
        with _out_of_memory_hint(self.image_bounds):
            inputs = self.prepare(messages)
            prepared = time.perf_counter()
            output = self.generate(inputs)
        generated = time.perf_counter()
        prompt_length = inputs["input_ids"].shape[1]
        new_tokens = output[0, prompt_length:]
        text = self.processor.tokenizer.decode(new_tokens, skip_special_tokens=True,
                                               clean_up_tokenization_spaces=False)
        return Completion(text=text, prompt_tokens=prompt_length,
                          output_tokens=int(new_tokens.shape[0]),
                          preprocess_s=prepared - start, generate_s=generated - prepared)


def _check_factor(image_processor: Any, bounds: ImageBounds, family: str, model_type: str) -> None:
    """Refuse a family that sizes images for another architecture.

    The screenshot is resized for the family (multiples of ``bounds.factor``); the
    checkpoint's processor rounds to multiples of its patch x merge size. If they
    differ it resizes again and the model's pixels no longer map back, so this is
    the one family mismatch a local checkpoint gives away before any step.
    """
    patch, merge = int(image_processor.patch_size), int(image_processor.merge_size)
    if patch * merge != bounds.factor:
        raise FamilyError(
            f"the {family} family sizes screenshots in multiples of {bounds.factor} pixels, but "
            f"this {model_type} checkpoint's processor in multiples of {patch * merge} (patch "
            f"{patch} x merge {merge}): it is not a {family} model. Leave --family out to detect "
            "the family from the checkpoint, or pass its own."
        )


@contextmanager
def _out_of_memory_hint(bounds: ImageBounds) -> Iterator[None]:
    """Turn a CUDA OOM into :class:`ModelOutOfMemory` that names a smaller ``max_pixels``."""
    try:
        yield
    except torch.OutOfMemoryError as exc:
        torch.cuda.empty_cache()
        factor, max_pixels = bounds.factor, bounds.max_pixels
        suggestion = max(4 * factor * factor, max_pixels // 4)
        raise ModelOutOfMemory(
            f"the GPU ran out of memory ({exc}). Screenshots cost one token per {factor}x{factor} "
            f"pixels: try QwenPolicy(..., max_pixels={suggestion}) (now {max_pixels}), "
            f"history_images=0, or a smaller model such as {SMALL_MODEL}."
        ) from exc


def default_attention(device: torch.device, dtype: torch.dtype = torch.bfloat16) -> str:
    """flash_attention_2 on CUDA in half precision when ``flash_attn`` is installed, else SDPA.

    Flash-attention kernels take only float16 / bfloat16: with a float32 model
    (``dtype="float32"`` on a GPU) transformers merely warns at load and
    ``generate`` fails, so SDPA is the default there.
    """
    if (device.type == "cuda" and dtype in (torch.float16, torch.bfloat16)
            and importlib.util.find_spec("flash_attn") is not None):
        return "flash_attention_2"
    return "sdpa"


def _resolve_dtype(dtype: str | torch.dtype | None, device: torch.device) -> torch.dtype:
    if isinstance(dtype, torch.dtype):
        return dtype
    if isinstance(dtype, str) and dtype != "auto":
        resolved = getattr(torch, dtype, None)
        if not isinstance(resolved, torch.dtype):
            raise UsageError(f"unknown dtype {dtype!r}; use e.g. 'bfloat16' or 'float32'")
        return resolved
    if device.type == "cuda":
        return torch.bfloat16 if torch.cuda.is_bf16_supported() else torch.float16
    return torch.float32


def _load_model(name: str, arch: Architecture, device: torch.device, dtype: torch.dtype,
                attn: str, hub_kwargs: dict[str, Any]) -> Any:
    """Load the weights with the architecture's class, straight onto the GPU when
    ``accelerate`` can place them."""
    direct = device.type != "cpu" and importlib.util.find_spec("accelerate") is not None
    model = arch.load_class().from_pretrained(
        name, dtype=dtype, attn_implementation=attn,
        **({"device_map": str(device)} if direct else {}), **hub_kwargs)
    return model if direct else model.to(device)


def _load(name: str, load: Any) -> Any:
    """Run ``load`` once the weights are known to be reachable; otherwise, and when loading
    fails for want of files, :class:`ModelNotFound` saying what to do (in seconds, not after
    a minute of hub retries)."""
    _check_reachable(name)
    try:
        return load()
    except OSError as exc:
        raise ModelNotFound(f"cannot load the checkpoint {name!r}: {exc}") from exc


def _check_reachable(name: str) -> None:
    if looks_local(name):
        folder = Path(name).expanduser()
        problem = "there is no such folder" if not folder.is_dir() else missing_parts(folder)
        if problem:
            raise ModelNotFound(f"{name!r}: {problem}; pass the folder that holds config.json "
                                "and the *.safetensors weights")
        return
    if locate(name) is None:
        problem = hub_problem(name)
        if problem:
            raise ModelNotFound(
                f"{name} is neither a folder here nor in the Hugging Face cache, and {problem}; "
                f"download it where there is network (`{DOWNLOAD_HINT.format(model=name)}`) "
                "and pass that folder")
