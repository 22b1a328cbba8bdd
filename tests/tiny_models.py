"""Builders of tiny random-weight Qwen2-VL / Qwen2.5-VL checkpoints for the ``hf`` policy tests.

Each builder writes a complete checkpoint folder with ``save_pretrained`` (config, weights,
tokenizer, image processor, chat template), so the policy loads it by path through exactly the
code a user's UI-TARS checkpoint takes. The weights are random: the models write nonsense, fast.

* tokenizer: a byte-level BPE trained with the ``tokenizers`` library on a few UI-TARS-like
  strings, wrapped as transformers' ``Qwen2Tokenizer``, plus the Qwen special tokens
  (``<|im_start|>``, ``<|im_end|>``, ``<|vision_start|>``, ``<|image_pad|>``, ``<|box_start|>``…)
  whose ids are written into the model config;
* image processor: ``Qwen2VLImageProcessor`` with the UI-TARS pixel budget;
* chat template: a Jinja template of the ChatML shape the Qwen-VL models use (written here);
* model: a 1-2 layer text decoder (hidden 64) with a 1-2 block vision tower (embed 32).
"""

from __future__ import annotations

from pathlib import Path

from tars.actions.coords import MAX_PIXELS, MIN_PIXELS

#: Qwen special tokens, in the order Qwen numbers them (after the ordinary vocabulary)
SPECIAL_TOKENS = [
    "<|endoftext|>",
    "<|im_start|>",
    "<|im_end|>",
    "<|object_ref_start|>",
    "<|object_ref_end|>",
    "<|box_start|>",
    "<|box_end|>",
    "<|quad_start|>",
    "<|quad_end|>",
    "<|vision_start|>",
    "<|vision_end|>",
    "<|vision_pad|>",
    "<|image_pad|>",
    "<|video_pad|>",
]

# ChatML with image placeholders: what the Qwen-VL processors expand into image tokens.
CHAT_TEMPLATE = (
    "{% for message in messages %}"
    "<|im_start|>{{ message['role'] }}\n"
    "{% if message['content'] is string %}{{ message['content'] }}"
    "{% else %}{% for part in message['content'] %}"
    "{% if part['type'] == 'image' or 'image' in part or 'image_url' in part %}"
    "<|vision_start|><|image_pad|><|vision_end|>"
    "{% elif part['type'] == 'text' %}{{ part['text'] }}"
    "{% endif %}{% endfor %}{% endif %}"
    "<|im_end|>\n"
    "{% endfor %}"
    "{% if add_generation_prompt %}<|im_start|>assistant\n{% endif %}"
)

_CORPUS = [
    "You are a GUI agent. You are given a task and your action history, with screenshots.",
    "Thought: I should click the OK button to close the dialog.",
    "Action: click(start_box='(235,512)')",
    "Action: drag(start_box='(10,20)', end_box='(30,40)')",
    "Action: type(content='hello world\\n')",
    "Action: hotkey(key='ctrl c')",
    "Action: scroll(start_box='(100,200)', direction='down')",
    "Action: finished(content='done')",
    "## Output Format\n## Action Space\n## Note\n## User Instruction\n",
    "0123456789 (x1,y1) left_double right_single wait() call_user()",
]


def build_tokenizer(folder: Path | None = None, vocab_size: int = 400):
    """A small ``Qwen2Tokenizer`` with the Qwen special tokens; saved to ``folder`` if given."""
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers, trainers
    from transformers import AddedToken, Qwen2Tokenizer

    bpe = Tokenizer(models.BPE())
    bpe.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    bpe.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(
        vocab_size=vocab_size,
        initial_alphabet=pre_tokenizers.ByteLevel.alphabet(),
        show_progress=False,
    )
    bpe.train_from_iterator(_CORPUS, trainer=trainer)
    vocab = bpe.get_vocab()
    merges = _merges(bpe)
    tokenizer = Qwen2Tokenizer(vocab=vocab, merges=merges)
    tokenizer.add_tokens([AddedToken(t, special=True, normalized=False) for t in SPECIAL_TOKENS])
    tokenizer.eos_token = "<|im_end|>"
    tokenizer.pad_token = "<|endoftext|>"
    if folder is not None:
        tokenizer.save_pretrained(folder)
    return tokenizer


def _merges(bpe) -> list[tuple[str, str]]:
    import json

    model = json.loads(bpe.to_str())["model"]
    return [tuple(m.split(" ", 1)) if isinstance(m, str) else tuple(m) for m in model["merges"]]


def _token_ids(tokenizer) -> dict[str, int]:
    return {t: tokenizer.convert_tokens_to_ids(t) for t in SPECIAL_TOKENS}


def build_tiny_vl(folder: Path, family: str = "qwen2_vl", layers: int = 1, seed: int = 0,
                  text_sizes: dict | None = None, vision_sizes: dict | None = None,
                  init_std: float = 0.02) -> Path:
    """Write a tiny random-weight ``family`` checkpoint (``qwen2_vl`` | ``qwen2_5_vl`` |
    ``qwen3_vl`` | ``qwen3_5``) to ``folder``. Qwen3-VL and Qwen3.5 use 16-pixel patches (the
    image processor's patch_size 16, merge 2: images in multiples of 32).

    ``text_sizes`` / ``vision_sizes`` override entries of the text / vision configs (a larger
    model for benchmarks/bench_hf.py). Returns ``folder``. Takes about a second on CPU; the
    weights are a few MB. ``init_std``: the weights' normal std
    (transformers' ``initializer_range``); the default 0.02 bounds the logits so tightly that
    LoRA cannot bring the loss below ~4.7, while 0.2 lets a few dozen LoRA steps memorise a
    short trajectory (the finetune tests).
    """
    import torch
    import transformers as tf

    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    tokenizer = build_tokenizer()
    ids = _token_ids(tokenizer)
    text = dict(
        vocab_size=len(tokenizer),
        hidden_size=64,
        intermediate_size=128,
        num_hidden_layers=layers,
        num_attention_heads=4,
        num_key_value_heads=2,
        max_position_embeddings=4096,
        # head_dim 16 -> 8 rotary frequencies, split over (time, height, width)
        rope_parameters={"rope_type": "default", "rope_theta": 10000.0, "mrope_section": [2, 3, 3]},
        bos_token_id=ids["<|endoftext|>"],
        eos_token_id=ids["<|im_end|>"],
        pad_token_id=ids["<|endoftext|>"],
        initializer_range=init_std,
    )
    if family == "qwen2_vl":
        vision = dict(depth=layers, embed_dim=32, hidden_size=64, num_heads=2, mlp_ratio=2)
        config_cls, model_cls, proc_cls = tf.Qwen2VLConfig, tf.Qwen2VLForConditionalGeneration, tf.Qwen2VLProcessor
    elif family == "qwen2_5_vl":
        vision = dict(
            depth=layers, hidden_size=32, intermediate_size=64, out_hidden_size=64, num_heads=2,
            window_size=56, fullatt_block_indexes=[layers - 1],
        )
        config_cls, model_cls, proc_cls = (
            tf.Qwen2_5_VLConfig, tf.Qwen2_5_VLForConditionalGeneration, tf.Qwen2_5_VLProcessor,
        )
    elif family in ("qwen3_vl", "qwen3_5"):
        vision = dict(depth=layers, hidden_size=32, intermediate_size=64, out_hidden_size=64, num_heads=2,
                      patch_size=16, spatial_merge_size=2, temporal_patch_size=2, num_position_embeddings=64)
        if family == "qwen3_vl":
            vision["deepstack_visual_indexes"] = [0]
            text.update(head_dim=16)
            config_cls, model_cls = tf.Qwen3VLConfig, tf.Qwen3VLForConditionalGeneration
        else:
            # Qwen3.5: linear-attention (gated delta net) layers with one full-attention layer
            text.update(head_dim=16, linear_key_head_dim=16, linear_value_head_dim=16,
                        linear_num_key_heads=2, linear_num_value_heads=4, num_hidden_layers=max(layers, 2),
                        layer_types=["linear_attention"] * (max(layers, 2) - 1) + ["full_attention"])
            text["rope_parameters"] = {"rope_type": "default", "rope_theta": 10000.0,
                                       "mrope_section": [1, 1, 0], "mrope_interleaved": True,
                                       "partial_rotary_factor": 0.25}
            config_cls, model_cls = tf.Qwen3_5Config, tf.Qwen3_5ForConditionalGeneration
        proc_cls = tf.Qwen3VLProcessor
    else:
        raise ValueError(f"unknown family {family!r}")
    text.update(text_sizes or {})
    vision.update(vision_sizes or {})
    config = config_cls(
        text_config=text,
        vision_config=vision,
        image_token_id=ids["<|image_pad|>"],
        video_token_id=ids["<|video_pad|>"],
        vision_start_token_id=ids["<|vision_start|>"],
        vision_end_token_id=ids["<|vision_end|>"],
        initializer_range=init_std,
    )
    torch.manual_seed(seed)
    model = model_cls(config).eval()
    model.generation_config.eos_token_id = ids["<|im_end|>"]
    model.generation_config.pad_token_id = ids["<|endoftext|>"]
    model.save_pretrained(folder)
    if family in ("qwen3_vl", "qwen3_5"):
        image_processor = tf.Qwen2VLImageProcessor(min_pixels=MIN_PIXELS, max_pixels=MAX_PIXELS,
                                                   patch_size=16, merge_size=2)
        video = tf.Qwen3VLVideoProcessor(patch_size=16, merge_size=2)
    else:
        image_processor = tf.Qwen2VLImageProcessor(min_pixels=MIN_PIXELS, max_pixels=MAX_PIXELS)
        video = tf.Qwen2VLVideoProcessor()
    processor = proc_cls(
        image_processor=image_processor,
        tokenizer=tokenizer,
        video_processor=video,
        chat_template=CHAT_TEMPLATE,
    )
    processor.save_pretrained(folder)
    return folder


def build_text_only(folder: Path) -> Path:
    """A tiny text-only Qwen2 language model (no vision tower), for the error path."""
    import torch
    import transformers as tf

    folder = Path(folder)
    tokenizer = build_tokenizer(folder)
    config = tf.Qwen2Config(
        vocab_size=len(tokenizer), hidden_size=32, intermediate_size=64, num_hidden_layers=1,
        num_attention_heads=2, num_key_value_heads=1,
    )
    torch.manual_seed(0)
    tf.Qwen2ForCausalLM(config).save_pretrained(folder)
    return folder


def build_lora_adapter(base_folder: Path, folder: Path, seed: int = 1) -> Path:
    """A LoRA adapter (rank 4 on the attention q/v projections of the language model) for the
    checkpoint in ``base_folder``, with non-zero B matrices so it changes the outputs."""
    import torch
    from peft import LoraConfig, get_peft_model
    from transformers import AutoModelForImageTextToText

    base = AutoModelForImageTextToText.from_pretrained(base_folder, dtype=torch.float32)
    config = LoraConfig(
        r=4, lora_alpha=8, target_modules=r".*language_model.*\.(q_proj|v_proj)", init_lora_weights=True
    )
    peft_model = get_peft_model(base, config)
    torch.manual_seed(seed)
    with torch.no_grad():
        for name, param in peft_model.named_parameters():
            if "lora_B" in name:  # peft initialises B to zero (a no-op adapter); make it bite
                param.normal_(0.0, 0.5)
    peft_model.save_pretrained(folder)
    return Path(folder)
