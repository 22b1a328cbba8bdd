"""The ``hf`` policy: UI-TARS / Qwen2-VL / Qwen2.5-VL checkpoints run locally with transformers.

``HFPolicy`` loads a checkpoint by Hub id or local folder with ``AutoModelForImageTextToText``
and ``AutoProcessor``, optionally puts a LoRA adapter on top with peft, renders the prompt with
the processor's chat template and decodes greedily by default (UI-TARS reference inference uses
temperature 0). Screenshots are resized with the profile's ``smart_resize`` budget by
qwen-vl-utils' ``fetch_image`` before the processor sees them, and the processor is called with the same
``min_pixels`` / ``max_pixels``, so a ``resized``-space model's coordinates refer to exactly
the image computed by :func:`tars.models.vision.model_image_size`.

Device order: CUDA (bfloat16, or float16 where bfloat16 is unsupported; FlashAttention-2 when
``flash_attn`` is installed, else PyTorch SDPA), then Apple MPS (float16), then CPU (float32).
"""

from __future__ import annotations

import importlib.util
import json
import logging
import os
import socket
import threading
from pathlib import Path
from typing import Any
from urllib.parse import urlparse

from tars.models.base import Interrupted, Policy, PolicyError, Prompt
from tars.models.families import render_messages
from tars.models.profiles import ModelProfile, get_profile
from tars.models.vision_cache import VisionFeatureCache, image_key

log = logging.getLogger(__name__)

# Used only when a checkpoint ships without a chat template: ChatML with the Qwen-VL image
# placeholder, the format every Qwen-VL-based GUI model in tars' profiles was trained on.
FALLBACK_CHAT_TEMPLATE = (
    "{% for message in messages %}"
    "<|im_start|>{{ message['role'] }}\n"
    "{% if message['content'] is string %}{{ message['content'] }}"
    "{% else %}{% for part in message['content'] %}"
    "{% if part['type'] == 'image' %}<|vision_start|><|image_pad|><|vision_end|>"
    "{% elif part['type'] == 'text' %}{{ part['text'] }}{% endif %}"
    "{% endfor %}{% endif %}<|im_end|>\n"
    "{% endfor %}"
    "{% if add_generation_prompt %}<|im_start|>assistant\n{% endif %}"
)

# End-of-turn strings stripped from decoded text (special tokens are otherwise kept, because
# UI-TARS-1.0 writes its coordinates inside <|box_start|>...<|box_end|>).
_END_STRINGS = ("<|im_end|>", "<|endoftext|>")
#: the Qwen-VL processors' image/video placeholder tokens: never part of an answer
_VISION_TOKENS = ("<|image_pad|>", "<|video_pad|>", "<|vision_start|>", "<|vision_end|>", "<|vision_pad|>")


def _looks_like_path(model: str) -> bool:
    """True for strings that can only be a folder (absolute, ~, ./, ../, Windows drive)."""
    return (
        model.startswith(("/", "~", "./", "../", ".\\", "..\\"))
        or (len(model) > 2 and model[1] == ":" and model[2] in "/\\")
        or model.count("/") > 1
    )


def _names_local_path(name: str) -> bool:
    """True when ``name`` (an ``--adapter``) can only mean a local folder: it looks like a path,
    starts with ``.``, or it or its first component exists here (``runs/lora`` beside a
    ``runs`` folder). Anything else is taken for a Hub id."""
    path = Path(name).expanduser()
    return (
        _looks_like_path(name)
        or name.startswith(".")
        or path.exists()
        or (len(path.parts) > 1 and Path(path.parts[0]).exists())
    )


def _hf_offline() -> bool:
    """True when HF_HUB_OFFLINE asks huggingface_hub never to touch the network."""
    return os.environ.get("HF_HUB_OFFLINE", "").lower() in ("1", "true", "yes", "on")


def _hub_unreachable(timeout: float = 3.0) -> str | None:
    """Why the Hub endpoint (HF_ENDPOINT, default huggingface.co) cannot be reached, or None.

    One TCP connection with a ``timeout`` in seconds, instead of huggingface_hub's five retries
    (about 23 s of backoff) on a machine without network. Skipped (None) behind a proxy,
    where a direct connection says nothing about what the download would do.
    """
    if any(os.environ.get(v) for v in ("HTTPS_PROXY", "https_proxy", "ALL_PROXY", "all_proxy")):
        return None
    url = urlparse(os.environ.get("HF_ENDPOINT") or "https://huggingface.co")
    host = url.hostname or "huggingface.co"
    port = url.port or (80 if url.scheme == "http" else 443)
    try:
        socket.create_connection((host, port), timeout=timeout).close()
    except OSError as exc:
        return f"{host}:{port} unreachable: {exc}"
    return None


def interrupt_criteria(event: threading.Event, progress: list[int] | None = None):
    """A transformers ``StoppingCriteria`` that ends generation at the next token once
    ``event`` is set (the Stop button); ``progress[0]``, when given, counts the tokens
    generated so far (the criteria is called once per new token).

    The criteria returns a bool tensor of shape ``(batch,)``, all True once ``event`` is set,
    as ``StoppingCriteria.__call__(input_ids, scores, **kwargs)`` requires (transformers 5.x).
    """
    import torch
    from transformers import StoppingCriteria

    class _Interrupt(StoppingCriteria):
        def __call__(self, input_ids, scores, **kwargs):
            if progress is not None:
                progress[0] += 1
            return torch.full((input_ids.shape[0],), event.is_set(), dtype=torch.bool,
                              device=input_ids.device)

    return _Interrupt()


def pick_device(device: str | None = None):
    """The torch device to run on: ``device`` if given, else CUDA, MPS, CPU in that order."""
    import torch

    if device:
        return torch.device(device)
    if torch.cuda.is_available():
        return torch.device("cuda")
    mps = getattr(torch.backends, "mps", None)
    if mps is not None and mps.is_available():
        return torch.device("mps")
    return torch.device("cpu")


def pick_dtype(device, dtype: Any = None):
    """Weights dtype: ``dtype`` if given (torch dtype or its name), else bf16 on CUDA (fp16 where
    unsupported), fp16 on MPS, fp32 on CPU.

    Raises:
        PolicyError: ``dtype`` names no torch floating dtype.
    """
    import torch

    if dtype is not None and not isinstance(dtype, torch.dtype):
        name = str(dtype).replace("torch.", "")
        aliases = {"bf16": "bfloat16", "fp16": "float16", "half": "float16", "fp32": "float32"}
        resolved = getattr(torch, aliases.get(name, name), None)
        if not isinstance(resolved, torch.dtype) or not resolved.is_floating_point:
            raise PolicyError(f"unknown dtype {dtype!r}; use bfloat16, float16 or float32")
        return resolved
    if dtype is not None:
        return dtype
    if device.type == "cuda":
        return torch.bfloat16 if torch.cuda.is_bf16_supported() else torch.float16
    if device.type == "mps":
        return torch.float16
    return torch.float32


class HFPolicy(Policy):
    """A local vision-language checkpoint through transformers.

    ``model``: Hub id (``ByteDance-Seed/UI-TARS-1.5-7B``) or local folder; a Hub id is looked up
    in the local Hugging Face cache first and downloaded only when not offline.
    ``adapter``: a peft LoRA adapter folder (or Hub id) put on top; ``merge_adapter`` folds it
    into the weights (faster generation, no unloading). An adapter made by ``tars finetune``
    carries a manifest (:mod:`tars.models.adapters`): ``model`` may then be empty
    (the base it names is loaded), a different base is refused, and its profile applies
    unless ``profile`` is given.
    ``profile``: profile name overriding the guess from ``model`` (:func:`tars.models.profiles.get_profile`).
    ``device``: ``cuda``, ``cuda:1``, ``mps``, ``cpu``; default picks (see module docstring).
    ``dtype``: ``bfloat16`` / ``float16`` / ``float32``; default per device.
    ``max_new_tokens``: generation budget; default the profile's. ``vision_cache``: encode
    each screenshot through the vision tower once and reuse its features while it stays in the
    history (:mod:`tars.models.vision_cache`; answers are the same either way).

    Raises:
        PolicyError: missing model (no such folder; a folder with a bad config.json or no
            weights; not cached while offline or without network; download failed), a
            checkpoint without a vision tower, a missing (checked before the base model
            loads) or mismatched adapter (a tars adapter tuned on another base), an unknown
            profile or dtype, or transformers/torch/peft not installed.
    """

    name = "hf"

    def __init__(
        self,
        model: str,
        adapter: str | None = None,
        merge_adapter: bool = False,
        profile: str | None = None,
        device: str | None = None,
        dtype: Any = None,
        max_new_tokens: int | None = None,
        vision_cache: bool = True,
        **_: Any,
    ) -> None:
        #: the tars manifest of a ``tars finetune`` adapter (None: no adapter, or one made
        #: elsewhere); its base model, profile and harness apply unless given here
        self.adapter_manifest: dict[str, Any] | None = self._adapter_manifest(adapter)
        tuned = self.adapter_manifest or {}
        model = model or (tuned.get("base_model") or {}).get("source") or ""
        if not model:
            raise PolicyError("the hf policy needs --model (a Hub id or a checkpoint folder)")
        try:
            self.profile: ModelProfile = get_profile(model, override=profile or tuned.get("profile"))
        except ValueError as exc:
            raise PolicyError(str(exc)) from exc
        self.space = self.profile.space
        self.model_id = model
        self.adapter = adapter
        self._user_max_new_tokens = max_new_tokens  # an explicit budget wins over the harness's
        self.max_new_tokens = max_new_tokens or self.profile.max_new_tokens
        self._lock = threading.Lock()
        # set by interrupt() from any thread; checked once per generated token
        self._interrupt = threading.Event()
        #: tokens generated so far by the answer in progress (or the last one), for progress
        #: display and tests; reset at the start of each act
        self.progress: list[int] = [0]
        try:
            import torch  # noqa: F401
            import transformers  # noqa: F401
        except ImportError as exc:
            raise PolicyError(f'the hf policy needs torch and transformers ({exc}); pip install "tars[hf]"') from exc
        self.device = pick_device(device)
        self.dtype = pick_dtype(self.device, dtype)
        source, local_only = self._resolve(model)
        if adapter:  # before the base model: loading a 7B checkpoint takes minutes
            self._check_adapter(adapter)
            if self.adapter_manifest is not None:
                from tars.models.adapters import ManifestError, check_base

                try:
                    check_base(self.adapter_manifest, model, adapter=f"adapter {adapter}")
                except ManifestError as exc:
                    raise PolicyError(str(exc)) from None
        self._check_vision_config(source, local_only)
        self.model = self._load_model(source, local_only)
        if adapter:
            self.model = self._load_adapter(self.model, adapter, merge_adapter)
        self.model.eval()
        self.processor = self._load_processor(source, local_only)
        self.tokenizer = self.processor.tokenizer
        self._end_ids = self._end_token_ids()
        #: image features of the screenshots in the history window, each encoded once
        #: (:mod:`tars.models.vision_cache`); None with ``vision_cache=False``
        self.vision_cache: VisionFeatureCache | None = (
            VisionFeatureCache().install(self.model) if vision_cache else None)
        log.info(
            "hf policy: %s on %s (%s), profile %s%s", model, self.device, self.dtype,
            self.profile.name, f", adapter {adapter}" if adapter else "",
        )

    # -- loading -----------------------------------------------------------------------

    def _resolve(self, model: str) -> tuple[str, bool]:
        """(source for from_pretrained, local_files_only)."""
        path = Path(model).expanduser()
        if path.is_dir():
            self._check_folder(path)
            return str(path), True
        if path.exists():
            raise PolicyError(f"model {model!r} is a file; give the checkpoint folder")
        if _looks_like_path(model):
            raise PolicyError(f"model folder {path} does not exist")
        return model, self._cached_only(model)

    @staticmethod
    def _check_folder(path: Path) -> None:
        """Refuse a local checkpoint folder that cannot load, saying what is wrong with it.

        Raises:
            PolicyError: no config.json, a config.json that is not valid JSON (with the JSON
                error), or no ``*.safetensors`` / ``*.bin`` weight files.
        """
        config = path / "config.json"
        if not config.is_file():
            raise PolicyError(f"model folder {path} has no config.json: not a transformers checkpoint")
        try:
            json.loads(config.read_text(encoding="utf-8"))
        except (json.JSONDecodeError, UnicodeDecodeError) as exc:
            raise PolicyError(f"model folder {path}: config.json is not valid JSON ({exc})") from None
        if not any(path.glob("*.safetensors")) and not any(path.glob("*.bin")):
            raise PolicyError(
                f"model folder {path} holds no weights (no *.safetensors or *.bin files); "
                "is the download complete?"
            )

    @staticmethod
    def _cached_only(model_id: str, filename: str = "config.json", what: str = "model") -> bool:
        """True when ``model_id``'s ``filename`` is in the local Hugging Face cache, False when
        it is not but can be downloaded.

        Raises:
            PolicyError: not cached, and HF_HUB_OFFLINE is set or the Hub cannot be reached
                (checked with one short connection, see :func:`_hub_unreachable`).
        """
        try:
            from huggingface_hub import try_to_load_from_cache

            cached = try_to_load_from_cache(model_id, filename)
        except Exception:  # malformed repo id and the like: let from_pretrained explain
            cached = None
        if isinstance(cached, str):
            return True
        if _hf_offline():
            raise PolicyError(
                f"{what} {model_id!r} is not in the local Hugging Face cache and HF_HUB_OFFLINE is "
                "set; download it first (huggingface-cli download) or give a local folder"
            )
        reason = _hub_unreachable()
        if reason:
            raise PolicyError(
                f"{what} {model_id!r} is not in the local Hugging Face cache and cannot be "
                f"downloaded ({reason}); download it elsewhere or give a local folder"
            )
        return False

    def _check_adapter(self, adapter: str) -> None:
        """Refuse a missing adapter before the base model loads.

        A local path must be a folder holding adapter_config.json; a Hub id must be cached
        when offline (:meth:`_cached_only`).

        Raises:
            PolicyError: as above, or peft is not installed.
        """
        if importlib.util.find_spec("peft") is None:
            raise PolicyError('--adapter needs peft; pip install "tars[hf]"')
        if _names_local_path(adapter):
            path = Path(adapter).expanduser()
            if not path.exists():
                raise PolicyError(f"adapter folder {path} does not exist (no adapter_config.json)")
            if not (path / "adapter_config.json").is_file():
                raise PolicyError(f"adapter folder {path} has no adapter_config.json (a peft LoRA adapter)")
            return
        self._cached_only(adapter, "adapter_config.json", what="adapter")

    @staticmethod
    def _adapter_manifest(adapter: str | None) -> dict[str, Any] | None:
        """The ``tars_adapter.json`` of a local ``adapter`` folder, or None.

        Raises:
            PolicyError: the folder has a manifest that cannot be read.
        """
        if not adapter or not _names_local_path(adapter):
            return None
        from tars.models.adapters import ManifestError, read_manifest

        try:
            return read_manifest(adapter)
        except ManifestError as exc:
            raise PolicyError(str(exc)) from None

    def _missing(self, source: str, exc: Exception) -> PolicyError:
        detail = f"{type(exc).__name__}: {str(exc).splitlines()[0] if str(exc) else ''}"
        if Path(source).is_dir():  # the folder is there: say what failed in it, not "no such folder"
            return PolicyError(f"cannot load model folder {source!r}: {detail}")
        return PolicyError(
            f"cannot load model {source!r}: not in the Hugging Face cache, "
            f"and it could not be downloaded ({detail})"
        )

    def _check_vision_config(self, source: str, local_only: bool) -> None:
        from transformers import AutoConfig

        try:
            config = AutoConfig.from_pretrained(source, local_files_only=local_only)
        except (OSError, ValueError) as exc:
            raise self._missing(source, exc) from exc
        if getattr(config, "vision_config", None) is None:
            raise PolicyError(
                f"model {source!r} (model_type {getattr(config, 'model_type', '?')}) has no vision "
                "tower; tars needs a vision-language checkpoint such as UI-TARS-1.5-7B, "
                "UI-TARS-7B-DPO or Qwen2.5-VL-7B-Instruct"
            )

    def _load_model(self, source: str, local_only: bool):
        from transformers import AutoModelForImageTextToText

        attn = "sdpa"
        if (
            self.device.type == "cuda"
            and importlib.util.find_spec("flash_attn") is not None
            and self.dtype.is_floating_point
            and self.dtype.itemsize == 2
        ):
            attn = "flash_attention_2"
        kwargs: dict[str, Any] = {"dtype": self.dtype, "local_files_only": local_only}
        # one CUDA device given explicitly: put everything there; otherwise let accelerate
        # spread a large checkpoint (72B) over every visible GPU
        if self.device.type == "cuda":
            kwargs["device_map"] = "auto" if self.device.index is None else {"": self.device}
        for attempt in (attn, "sdpa", "eager"):
            try:
                model = AutoModelForImageTextToText.from_pretrained(
                    source, attn_implementation=attempt, **kwargs
                )
                break
            except (OSError, EnvironmentError) as exc:
                raise self._missing(source, exc) from exc
            except ValueError as exc:
                message = str(exc)
                if "attn" in message.lower() or "attention" in message.lower():
                    log.info("attention %s unavailable (%s); trying the next", attempt, message)
                    continue
                raise PolicyError(f"cannot load {source!r} as a vision-language model: {message}") from exc
            except ImportError as exc:  # flash_attn present but broken
                log.info("attention %s unavailable (%s); trying the next", attempt, exc)
                continue
        else:  # pragma: no cover - sdpa and eager both refused
            raise PolicyError(f"cannot load {source!r}: no attention implementation works")
        if self.device.type != "cuda":
            model = model.to(self.device)
        return model

    def _load_adapter(self, model, adapter: str, merge: bool):
        try:
            from peft import PeftModel
        except ImportError as exc:
            raise PolicyError(f'--adapter needs peft ({exc}); pip install "tars[hf]"') from exc
        path = Path(adapter).expanduser()  # checked by _check_adapter before the base loaded
        try:
            wrapped = PeftModel.from_pretrained(model, str(path) if path.exists() else adapter, is_trainable=False)
        except Exception as exc:  # peft raises ValueError/KeyError/RuntimeError on a mismatch
            raise PolicyError(f"cannot load adapter {adapter!r} on {self.model_id!r}: {exc}") from exc
        return wrapped.merge_and_unload() if merge else wrapped

    def _load_processor(self, source: str, local_only: bool):
        from transformers import AutoProcessor

        try:
            processor = AutoProcessor.from_pretrained(source, local_files_only=local_only)
        except (OSError, ValueError) as exc:
            raise PolicyError(f"cannot load the processor (tokenizer, image processor) of {source!r}: {exc}") from exc
        if not hasattr(processor, "image_processor") or not hasattr(processor, "tokenizer"):
            raise PolicyError(f"{source!r} ships no image processor; not a vision-language checkpoint")
        if not getattr(processor, "chat_template", None):
            processor.chat_template = FALLBACK_CHAT_TEMPLATE
        return processor

    def _end_token_ids(self) -> set[int]:
        ids: set[int] = set()
        eos = getattr(self.model.generation_config, "eos_token_id", None)
        ids.update(eos if isinstance(eos, (list, tuple)) else [eos] if eos is not None else [])
        for token in (self.tokenizer.eos_token, *_END_STRINGS):
            if token:
                tid = self.tokenizer.convert_tokens_to_ids(token)
                if isinstance(tid, int) and tid != self.tokenizer.unk_token_id:
                    ids.add(tid)
        return ids

    # -- inference ---------------------------------------------------------------------

    def build_inputs(self, prompt: Prompt, answer: str | None = None, device: Any = None) -> dict[str, Any]:
        """Model inputs (``input_ids``, ``attention_mask``, ``pixel_values``, ``image_grid_thw``)
        for ``prompt``, on the model's device (or ``device``): chat template with the generation
        prompt, images resized with the profile's pixel budget by qwen-vl-utils (the Qwen
        reference pipeline; ``tars.models.vision.prepare_image``, used where torch is absent,
        gives the same pixels).

        ``answer``: render the conversation with ``answer`` as the final assistant turn instead
        of the generation prompt: the training sample of ``tars finetune``
        (:mod:`tars.agent.finetune.samples`), made by this same code.
        """
        from qwen_vl_utils import fetch_image

        from tars.actions.coords import linear_prescale

        space = prompt.space  # the space the agent converts this prompt's answer from
        # the profile's message layout (UI-TARS, or a family of tars.models.families); the
        # images go to the processor in the order the messages show them
        messages = render_messages(prompt, self.profile)
        if answer is not None:
            messages.append({"role": "assistant", "content": [{"type": "text", "text": answer}]})
        shown = [part["image"] for m in messages for part in m["content"] if part.get("type") == "image"]
        images = []
        for img in shown:
            if space.prescale:  # OSWorld's client-side shrink before the processor's smart_resize
                h, w = linear_prescale(img.height, img.width, space.min_pixels, space.max_pixels)
                if (w, h) != img.size:
                    img = img.convert("RGB").resize((w, h))
            images.append(fetch_image({"image": img, "min_pixels": space.min_pixels, "max_pixels": space.max_pixels},
                                      image_patch_size=space.factor // 2))  # factor = patch size x merge size 2
        if self.vision_cache is not None:
            self.vision_cache.expect([image_key(im) for im in images])
        text = self.processor.apply_chat_template(messages, tokenize=False,
                                                  add_generation_prompt=answer is None)
        kwargs: dict[str, Any] = {"text": [text], "return_tensors": "pt"}
        if images:
            # the same budget as fetch_image, so the processor's own smart_resize is the
            # identity and never shrinks the image under a checkpoint's smaller default
            kwargs.update(
                images=images,
                size={"shortest_edge": space.min_pixels, "longest_edge": space.max_pixels},
            )
        inputs = self.processor(**kwargs)
        return inputs.to(device if device is not None else self.model.device)

    def decode(self, token_ids) -> str:
        """Text of generated ``token_ids`` up to the first end-of-turn token.

        Special tokens are kept (UI-TARS-1.0 writes ``<|box_start|>(x,y)<|box_end|>``, which
        the parser reads); end-of-turn and padding strings are removed, and so are the vision
        placeholders (``<|image_pad|>``, ``<|vision_start|>``...): an answer that carried one
        into the history would make the processor count one image too many on the next step.
        """
        ids = [int(t) for t in token_ids]
        for i, tid in enumerate(ids):
            if tid in self._end_ids:
                ids = ids[:i]
                break
        text = self.tokenizer.decode(ids, skip_special_tokens=False)
        for end in (*_END_STRINGS, *_VISION_TOKENS, self.tokenizer.pad_token or ""):
            if end:
                text = text.replace(end, "")
        return text.strip()

    def act(self, prompt: Prompt) -> str:
        """Generate the answer to ``prompt`` (raw model text, see :meth:`decode`).

        Raises:
            Interrupted: :meth:`interrupt` was called before or during generation.
            PolicyError: the prompt has no screenshot, or generation failed (e.g. CUDA out of
                memory; the message suggests a smaller ``--history-images``).
        """
        import torch
        from transformers import StoppingCriteriaList

        if self.model is None:
            raise PolicyError("the hf policy was closed")
        if not prompt.images():
            raise PolicyError("the prompt has no screenshot")
        if self._interrupt.is_set():
            raise Interrupted("the hf policy was interrupted before generating")
        # the prompt's sampling (harness numbers, a temperature-1 retry) over the profile's;
        # transformers has no OpenAI-style frequency_penalty, so that one is not applied here
        temperature = prompt.sampling.get("temperature", self.profile.temperature)
        top_p = prompt.sampling.get("top_p", self.profile.top_p)
        budget = (self.max_new_tokens if self._user_max_new_tokens
                  else prompt.sampling.get("max_new_tokens") or self.max_new_tokens)
        gen: dict[str, Any] = {"max_new_tokens": int(budget), "do_sample": temperature > 0}
        if temperature > 0:
            gen["temperature"] = temperature
            if top_p is not None:
                gen["top_p"] = top_p
        if self.profile.repetition_penalty is not None:
            gen["repetition_penalty"] = self.profile.repetition_penalty
        pad = self.tokenizer.pad_token_id
        if pad is not None:
            gen["pad_token_id"] = pad
        with self._lock, torch.inference_mode():
            self.progress = [0]
            gen["stopping_criteria"] = StoppingCriteriaList(
                [interrupt_criteria(self._interrupt, self.progress)]
            )
            try:
                inputs = self.build_inputs(prompt)
                output = self.model.generate(**inputs, **gen)
            except torch.cuda.OutOfMemoryError as exc:
                torch.cuda.empty_cache()
                raise PolicyError(
                    f"out of GPU memory with {len(prompt.images())} screenshots; "
                    "try a smaller --history-images"
                ) from exc
            except ValueError as exc:  # processor/model refusing the input
                raise PolicyError(f"generation failed: {exc}") from exc
        new_tokens = output[0, inputs["input_ids"].shape[1]:]
        if self._interrupt.is_set():  # a cut-off answer is no answer: never act on half a step
            raise Interrupted(
                f"the hf policy was interrupted after {len(new_tokens)} of at most "
                f"{self.max_new_tokens} tokens"
            )
        return self.decode(new_tokens)

    def interrupt(self) -> None:
        """Abandon the answer in progress (any thread): generation ends at the next token and
        :meth:`act` raises :class:`~tars.models.base.Interrupted`, as does every later ``act``
        until :meth:`reset_interrupt`."""
        self._interrupt.set()

    def reset_interrupt(self) -> None:
        """Let :meth:`act` answer again (called by the agent when a run starts)."""
        self._interrupt.clear()

    def close(self) -> None:
        """Drop the model and free GPU memory."""
        if self.vision_cache is not None:
            self.vision_cache.uninstall()
        self.model = None
        self.processor = None
        try:
            import torch

            if torch.cuda.is_available():
                torch.cuda.empty_cache()
        except ImportError:  # pragma: no cover
            pass
