"""The ``hf`` policy on tiny random-weight Qwen2-VL / Qwen2.5-VL checkpoints built by the tests.

The checkpoints are saved to folders and loaded by path through the code a user's UI-TARS
checkpoint takes (AutoConfig, AutoModelForImageTextToText, AutoProcessor, peft). Random weights
write nonsense; the tests check what goes in (images, sizes, prompt text) and the loading and
error paths, and that a LoRA adapter really changes the model.
"""

from __future__ import annotations

import pytest

torch = pytest.importorskip("torch")
pytest.importorskip("transformers")

from PIL import Image  # noqa: E402

from tars.actions.coords import CoordSpace  # noqa: E402
from tars.models.base import PolicyError, Prompt, Turn, load_policy  # noqa: E402
from tars.models.prompts import system_prompt  # noqa: E402
from tars.models.vision import model_image_size, prepare_image  # noqa: E402
from tests.tiny_models import (  # noqa: E402
    build_lora_adapter,
    build_text_only,
    build_tiny_vl,
)

MAX_NEW = 8


@pytest.fixture(scope="session")
def tiny_dir(tmp_path_factory):
    return tmp_path_factory.mktemp("checkpoints")


@pytest.fixture(scope="session")
def qwen2_ckpt(tiny_dir):
    return build_tiny_vl(tiny_dir / "tiny-qwen2-vl", "qwen2_vl")


@pytest.fixture(scope="session")
def qwen25_ckpt(tiny_dir):
    return build_tiny_vl(tiny_dir / "tiny-qwen2.5-vl", "qwen2_5_vl")


@pytest.fixture(scope="session")
def qwen2_policy(qwen2_ckpt):
    from tars.models.hf import HFPolicy

    return HFPolicy(str(qwen2_ckpt), max_new_tokens=MAX_NEW)


@pytest.fixture(scope="session")
def lora_dir(qwen2_ckpt, tiny_dir):
    return build_lora_adapter(qwen2_ckpt, tiny_dir / "lora")


def screenshot(color, size=(160, 100)):
    img = Image.new("RGB", size, color)
    img.paste((255, 255, 255), (10, 10, 60, 30))  # a "button", so the image is not flat
    return img


def two_shot_prompt(policy, instruction="Open the settings"):
    system = system_prompt(policy.profile, instruction)
    return Prompt(
        instruction=instruction,
        system=system,
        turns=[
            Turn(screenshot((200, 30, 30)), "Thought: click it\nAction: click(start_box='(12,34)')"),
            Turn(screenshot((30, 30, 200), size=(120, 90))),
        ],
        space=policy.space,
    )


def test_qwen2_vl_folder_loads_and_generates(qwen2_policy):
    policy = qwen2_policy
    assert policy.name == "hf"
    assert policy.profile.name == "qwen2-vl" and policy.space.kind == "relative"
    assert policy.device.type == "cpu" and policy.dtype == torch.float32
    prompt = two_shot_prompt(policy)
    first = policy.act(prompt)
    assert isinstance(first, str)
    assert policy.act(prompt) == first  # greedy decoding: same prompt, same text


def test_inputs_hold_the_prompt_and_both_screenshots_at_smart_resize_size(qwen2_policy):
    policy = qwen2_policy
    prompt = two_shot_prompt(policy)
    inputs = policy.build_inputs(prompt)
    grid = inputs["image_grid_thw"].tolist()
    assert len(grid) == 2
    patch = 14  # Qwen2-VL patch side; merge 2x2 -> the 28-pixel factor of smart_resize
    for (t, gh, gw), img in zip(grid, prompt.images()):
        w, h = model_image_size(img.width, img.height, policy.space)
        assert (t, gh * patch, gw * patch) == (1, h, w)
    ids = inputs["input_ids"][0].tolist()
    pad = policy.tokenizer.convert_tokens_to_ids("<|image_pad|>")
    assert ids.count(pad) == sum(t * gh * gw for t, gh, gw in grid) // 4
    text = policy.tokenizer.decode(ids, skip_special_tokens=False)
    assert "## User Instruction\nOpen the settings" in text
    assert "<|im_start|>assistant\nThought: click it\nAction: click(start_box='(12,34)')<|im_end|>" in text
    assert text.endswith("<|im_start|>assistant\n")
    assert text.count("<|vision_start|>") == 2


def test_qwen25_vl_resized_profile_and_generation(qwen25_ckpt):
    from tars.models.hf import HFPolicy

    policy = HFPolicy(str(qwen25_ckpt), max_new_tokens=MAX_NEW)
    assert policy.profile.name == "qwen2.5-vl" and policy.space.kind == "resized"
    prompt = two_shot_prompt(policy)
    assert isinstance(policy.act(prompt), str)
    grid = policy.build_inputs(prompt)["image_grid_thw"].tolist()
    w, h = policy.space.model_size(120, 90)  # coordinates refer to exactly this image
    assert (grid[1][1] * 14, grid[1][2] * 14) == (h, w)
    policy.close()
    with pytest.raises(PolicyError, match="closed"):
        policy.act(prompt)


def test_profile_override_and_registry(qwen2_ckpt):
    policy = load_policy("hf", model=str(qwen2_ckpt), profile="ui-tars-1.0", max_new_tokens=2)
    assert policy.profile.name == "ui-tars-1.0" and policy.space.kind == "relative"
    with pytest.raises(PolicyError, match="known profiles"):
        load_policy("hf", model=str(qwen2_ckpt), profile="nonsense")


def test_decode_keeps_box_tokens_and_stops_at_end_of_turn(qwen2_policy):
    tok = qwen2_policy.tokenizer
    text = "Thought: ok\nAction: click(start_box='<|box_start|>(235,512)<|box_end|>')"
    ids = tok.encode(text + "<|im_end|>" + "Action: wait()", add_special_tokens=False)
    assert qwen2_policy.decode(ids) == text


def test_decode_drops_vision_placeholders_an_answer_must_not_carry(qwen2_policy):
    """A (random or confused) model may write <|image_pad|>; kept in the history it would make
    the processor expect one more image on the next step."""
    tok = qwen2_policy.tokenizer
    text = "Thought: ok <|vision_start|><|image_pad|><|vision_end|>\nAction: wait()"
    ids = tok.encode(text, add_special_tokens=False)
    assert "<|image_pad|>" in tok.decode(ids, skip_special_tokens=False)  # really one token
    out = qwen2_policy.decode(ids)
    assert "image_pad" not in out and "vision_" not in out and out.endswith("Action: wait()")


def test_prepare_image_matches_qwen_vl_utils():
    qwen_vl_utils = pytest.importorskip("qwen_vl_utils")
    # upscaled to min_pixels, rounded to multiples of 28, and shrunk to a small max_pixels
    cases = [
        ((160, 100), CoordSpace("resized")),
        ((1366, 768), CoordSpace("resized")),
        ((1920, 1080), CoordSpace("resized", max_pixels=600 * 28 * 28)),
    ]
    for size, space in cases:
        img = Image.effect_noise(size, 40).convert("RGB")
        ours = prepare_image(img, space)
        ref = qwen_vl_utils.fetch_image(
            {"image": img, "min_pixels": space.min_pixels, "max_pixels": space.max_pixels}
        )
        assert ours.size == ref.size
        assert ours.tobytes() == ref.tobytes()


def test_lora_adapter_changes_logits_and_merges(qwen2_policy, qwen2_ckpt, lora_dir):
    from tars.models.hf import HFPolicy

    prompt = two_shot_prompt(qwen2_policy)
    inputs = qwen2_policy.build_inputs(prompt)
    with torch.inference_mode():
        base = qwen2_policy.model(**inputs).logits[0, -1]
        adapted = HFPolicy(str(qwen2_ckpt), adapter=str(lora_dir), max_new_tokens=MAX_NEW)
        assert type(adapted.model).__name__ == "PeftModel"
        with_lora = adapted.model(**inputs).logits[0, -1]
        merged = HFPolicy(str(qwen2_ckpt), adapter=str(lora_dir), merge_adapter=True, max_new_tokens=MAX_NEW)
        assert type(merged.model).__name__ != "PeftModel"
        with_merged = merged.model(**inputs).logits[0, -1]
    assert (with_lora - base).abs().max().item() > 1e-3
    assert torch.allclose(with_lora, with_merged, atol=1e-4)
    assert isinstance(adapted.act(prompt), str)


def test_missing_model_folder(tmp_path):
    from tars.models.hf import HFPolicy

    with pytest.raises(PolicyError, match="does not exist"):
        HFPolicy(str(tmp_path / "no" / "such-UI-TARS-1.5-7B"))
    empty = tmp_path / "empty"
    empty.mkdir()
    with pytest.raises(PolicyError, match="no config.json"):
        HFPolicy(str(empty))
    with pytest.raises(PolicyError, match="needs --model"):
        HFPolicy("")


def test_hub_id_not_cached_while_offline(monkeypatch, tmp_path):
    from tars.models.hf import HFPolicy

    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    monkeypatch.setenv("HF_HUB_CACHE", str(tmp_path / "empty-cache"))
    with pytest.raises(PolicyError, match="not in the local Hugging Face cache"):
        HFPolicy("ByteDance-Seed/UI-TARS-1.5-7B")


def test_text_only_model_is_refused(tmp_path):
    from tars.models.hf import HFPolicy

    folder = build_text_only(tmp_path / "tiny-qwen2-text")
    with pytest.raises(PolicyError, match="no vision tower"):
        HFPolicy(str(folder))


def test_bad_adapter_folder_is_refused_before_the_base_model_loads(qwen2_ckpt, tmp_path, monkeypatch):
    from tars.models.hf import HFPolicy

    def no_base_load(*args, **kwargs):  # a 7B base takes minutes: the adapter check comes first
        raise AssertionError("the base model was loaded before the adapter was checked")

    monkeypatch.setattr(HFPolicy, "_load_model", no_base_load)
    with pytest.raises(PolicyError, match="has no adapter_config.json"):
        HFPolicy(str(qwen2_ckpt), adapter=str(tmp_path))
    with pytest.raises(PolicyError, match="does not exist"):
        HFPolicy(str(qwen2_ckpt), adapter=str(tmp_path / "missing"))
    # relative paths: ".lora" and "runs/lora" beside a runs folder are paths, not Hub ids
    monkeypatch.chdir(tmp_path)
    (tmp_path / "runs").mkdir()
    for name in (".lora", "runs/lora"):
        with pytest.raises(PolicyError, match="does not exist"):
            HFPolicy(str(qwen2_ckpt), adapter=name)
    # a Hub id stays allowed, but while offline it must be in the cache
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    monkeypatch.setenv("HF_HUB_CACHE", str(tmp_path / "empty-cache"))
    with pytest.raises(PolicyError, match="adapter 'someone/ui-tars-lora' is not in the local"):
        HFPolicy(str(qwen2_ckpt), adapter="someone/ui-tars-lora")


def test_broken_model_folder_says_what_is_wrong(qwen2_ckpt, tmp_path):
    import shutil

    from tars.models.hf import HFPolicy

    bad_config = shutil.copytree(qwen2_ckpt, tmp_path / "bad-config")
    (bad_config / "config.json").write_text('{"model_type": "qwen2_vl",')
    with pytest.raises(PolicyError, match="config.json is not valid JSON") as err:
        HFPolicy(str(bad_config))
    assert "line 1" in str(err.value) and "Hugging Face cache" not in str(err.value)
    no_weights = shutil.copytree(qwen2_ckpt, tmp_path / "no-weights")
    weights = list(no_weights.glob("*.safetensors")) + list(no_weights.glob("*.bin"))
    assert weights
    for file in weights:
        file.unlink()
    with pytest.raises(PolicyError, match=r"holds no weights \(no \*.safetensors or \*.bin"):
        HFPolicy(str(no_weights))


def test_hub_id_not_cached_without_network_fails_at_once(monkeypatch, tmp_path):
    from tars.models.hf import HFPolicy

    # a closed local port stands for a machine that cannot reach the Hub: refused at once,
    # where huggingface_hub would retry five times (about 23 s)
    monkeypatch.delenv("HF_HUB_OFFLINE", raising=False)
    for proxy in ("HTTPS_PROXY", "https_proxy", "ALL_PROXY", "all_proxy"):
        monkeypatch.delenv(proxy, raising=False)
    monkeypatch.setenv("HF_ENDPOINT", "http://127.0.0.1:9")
    monkeypatch.setenv("HF_HUB_CACHE", str(tmp_path / "empty-cache"))
    with pytest.raises(PolicyError, match=r"not in the local Hugging Face cache and cannot be downloaded \(127.0.0.1:9 unreachable"):
        HFPolicy("ByteDance-Seed/UI-TARS-1.5-7B")


def test_prompt_without_screenshot(qwen2_policy):
    prompt = Prompt("x", "sys", [Turn(None)], space=qwen2_policy.space)
    with pytest.raises(PolicyError, match="no screenshot"):
        qwen2_policy.act(prompt)


def test_dtype_choice_and_names(qwen2_ckpt):
    from tars.models.hf import HFPolicy, pick_dtype

    cpu = torch.device("cpu")
    assert pick_dtype(cpu) == torch.float32
    assert pick_dtype(torch.device("mps")) == torch.float16
    assert pick_dtype(cpu, "bf16") == torch.bfloat16
    assert pick_dtype(cpu, "torch.float16") == torch.float16
    with pytest.raises(PolicyError, match="unknown dtype"):
        pick_dtype(cpu, "int8")
    policy = HFPolicy(str(qwen2_ckpt), dtype="bfloat16", max_new_tokens=2)
    assert next(policy.model.parameters()).dtype == torch.bfloat16


@pytest.mark.parametrize(
    "name,is_path",
    [
        ("/models/UI-TARS-1.5-7B", True),
        ("~/ckpt", True),
        ("./ckpt", True),
        ("C:\\models\\ui-tars", True),
        ("a/b/c", True),
        ("ByteDance-Seed/UI-TARS-1.5-7B", False),
        ("ui-tars", False),
    ],
)
def test_path_or_hub_id(name, is_path):
    from tars.models.hf import _looks_like_path

    assert _looks_like_path(name) is is_path


def test_interrupt_ends_generation_at_the_next_token(qwen2_ckpt):
    """Stop mid-answer: generate ends at the next token, act raises Interrupted, and the
    policy answers again after reset_interrupt()."""
    import threading
    import time

    from tars.models.base import Interrupted
    from tars.models.hf import HFPolicy

    budget = 2000
    policy = HFPolicy(str(qwen2_ckpt), max_new_tokens=budget)
    # no end-of-turn token: only the budget or the interrupt can end this generation
    policy.model.generation_config.eos_token_id = None
    prompt = Prompt("x", "Open the settings", [Turn(screenshot((30, 30, 200)))], space=policy.space)
    outcome: dict = {}

    def answer():
        try:
            outcome["text"] = policy.act(prompt)
        except Exception as exc:  # noqa: BLE001 - the test inspects it
            outcome["error"] = exc

    worker = threading.Thread(target=answer, daemon=True)
    worker.start()
    deadline = time.monotonic() + 60
    while policy.progress[0] < 3 and worker.is_alive() and time.monotonic() < deadline:
        time.sleep(0.005)
    assert worker.is_alive(), f"generation ended before the interrupt: {outcome}"
    policy.interrupt()
    at_interrupt = policy.progress[0]
    worker.join(60)
    assert not worker.is_alive()
    assert isinstance(outcome.get("error"), Interrupted), outcome
    # the criteria fired at most a token or two after interrupt(), far from the budget
    assert at_interrupt <= policy.progress[0] <= at_interrupt + 2 < budget
    assert "interrupted after" in str(outcome["error"])

    # interrupted until reset: a new act refuses at once, without generating
    with pytest.raises(Interrupted, match="before generating"):
        policy.act(prompt)
    policy.reset_interrupt()
    policy.max_new_tokens = 4
    assert isinstance(policy.act(prompt), str)
    assert policy.progress[0] == 4  # ran to its budget: the criteria no longer stops it
