"""``tars finetune`` without a display: samples equal the inference requests token for token,
the loss falls on held-out trajectories, interrupted runs resume to the same adapter, the
adapter's manifest is honoured and checked, and bad input is refused with nothing written.

Tiny random-weight Qwen2-VL / Qwen2.5-VL checkpoints are built here (tests/tiny_models.py,
``init_std=0.2`` so that LoRA can fit them), saved, and loaded by path. Runs are made by the
real agent loop (a scripted policy on served screenshots) and recorded with the real
TrajectoryRecorder.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

torch = pytest.importorskip("torch")
pytest.importorskip("peft")

from PIL import Image, ImageDraw  # noqa: E402

from tars.agent.finetune.data import find_sources  # noqa: E402
from tars.agent.finetune.samples import IGNORE, SampleSet, episode_of  # noqa: E402
from tars.agent.finetune.train import FinetuneError, TuneSettings, finetune, partial_folder  # noqa: E402
from tars.agent.loop import Agent, AgentConfig  # noqa: E402
from tars.agent.trajectory import TrajectoryRecorder  # noqa: E402
from tars.desktop.dryrun import DryRunOperator  # noqa: E402
from tars.models.adapters import MANIFEST  # noqa: E402
from tars.models.base import PolicyError  # noqa: E402
from tars.models.scripted import ScriptedPolicy  # noqa: E402
from tests.tiny_models import build_text_only, build_tiny_vl  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
INSTRUCTION = 'type "Buy bread" into the New item field, then click Add'
ANSWERS = [
    "Thought: The field is empty.\nAction: click(start_box='(120,40)')",
    "Action: type(content='Buy bread')",
    "Thought: Now add it.\nAction: click(start_box='(300,40)')",
    "Action: finished(content='')",
]


@pytest.fixture(scope="module")
def ckpts(tmp_path_factory):
    base = tmp_path_factory.mktemp("ft-ckpt")
    return {
        "qwen2_5_vl": build_tiny_vl(base / "a", "qwen2_5_vl", layers=2, init_std=0.2),
        "qwen2_vl": build_tiny_vl(base / "b", "qwen2_vl", layers=2, init_std=0.2),
    }


def screens(shift: int = 0, size=(320, 240)):
    """Four distinct screenshots (a 'field' box that moves step by step)."""
    out = []
    for k in range(4):
        im = Image.new("RGB", size, (225, 228, 232))
        d = ImageDraw.Draw(im)
        d.rectangle((10 + 20 * k + shift, 15, 150, 45), fill=(255, 255, 255), outline=(20, 20, 20))
        d.text((12, 60 + shift), f"step {k}", fill=(0, 0, 0))
        out.append(im)
    return out


def record_run(folder: Path, policy, answers=ANSWERS, images=None, history_images=3):
    """Run the agent loop with a scripted policy answering ``answers`` in ``policy``'s space
    and profile; returns the ScriptedPolicy (its ``prompts`` are what the loop sent)."""
    scripted = ScriptedPolicy(answers, space=policy.space)
    scripted.profile = policy.profile
    op = DryRunOperator(images=images or screens())
    result = Agent(scripted, op, AgentConfig(history_images=history_images, settle=False),
                   [TrajectoryRecorder(folder)]).run(INSTRUCTION)
    assert result.status == "finished", result
    return scripted


@pytest.mark.parametrize("family", ["qwen2_5_vl", "qwen2_vl"])
def test_sample_of_step_k_is_the_inference_prompt_then_the_answer(ckpts, tmp_path, family):
    """Token for token: sample k = the tokens HFPolicy.act sends at step k of a real run,
    followed by the answer and the end-of-turn token; everything before is masked."""
    from tars.models.hf import HFPolicy

    policy = HFPolicy(str(ckpts[family]), max_new_tokens=8)
    assert policy.profile.box_tokens  # the re-wrap of earlier answers is part of what is checked
    scripted = record_run(tmp_path / "run", policy, history_images=2)
    found = find_sources([str(tmp_path / "run")])
    episode = episode_of(found.sources[0], policy.profile)
    assert [e.answer for e in episode.examples] == ANSWERS  # a run in the profile's space: verbatim
    samples = SampleSet(policy, [episode], history_images=2)
    samples.prepare()
    end = policy.tokenizer.convert_tokens_to_ids("<|im_end|>")
    for k, prompt in enumerate(scripted.prompts):
        sent = policy.build_inputs(prompt)
        asked = sent["input_ids"][0].tolist()
        answer = policy.tokenizer(ANSWERS[k], add_special_tokens=False)["input_ids"] + [end]
        sample = samples.encode(k)
        ids = sample["input_ids"][0].tolist()
        assert ids[: len(asked) + len(answer)] == asked + answer
        assert ids[len(asked) + len(answer):] == policy.tokenizer("\n")["input_ids"]  # masked tail
        labels = sample["labels"][0].tolist()
        assert labels[: len(asked)] == [IGNORE] * len(asked)
        assert labels[len(asked): len(asked) + len(answer)] == answer
        assert set(labels[len(asked) + len(answer):]) == {IGNORE}
        assert torch.equal(sample["pixel_values"], sent["pixel_values"].cpu())
        assert torch.equal(sample["image_grid_thw"], sent["image_grid_thw"].cpu())
    assert len(scripted.prompts[3].images()) == 2  # the window really dropped old screenshots
    policy.close()


def test_demonstration_answers_in_the_profile_space(ckpts, tmp_path):
    """A demonstration (screen points, no thoughts) is written in each profile's own space;
    --thought templates fill the Thought."""
    from tars.actions.coords import CoordSpace, ScreenGeometry, screen_to_model
    from tars.actions.space import Click, Finished, Step, Type
    from tars.agent.hooks import RunInfo, RunResult, StepRecord
    from tars.desktop.operator import Observation
    from tars.models.profiles import get_profile

    geometry = ScreenGeometry(640, 480, scale=2.0)  # a HiDPI screen: points are half the pixels
    rec = TrajectoryRecorder(tmp_path / "demo")
    rec.run_start(RunInfo(INSTRUCTION, "human", CoordSpace("resized"), settings={"source": "demonstration"},
                          geometry=geometry))
    image = Image.new("RGB", (640, 480), (200, 200, 200))
    for i, action in enumerate([Click(100, 50), Type("Buy bread"), Finished()], 1):
        step = Step(None, (action,), raw="Action: ...")
        rec.step_end(StepRecord(i, Observation(image, geometry, 0.0), "Action: ...", step, [action],
                                [action], None, {}, 0.0))
    rec.run_end(RunResult("finished", "", 3, 1.0))
    source = find_sources([str(tmp_path / "demo")]).sources[0]
    assert source.kind == "demonstration"
    relative = get_profile("UI-TARS-7B-DPO")
    x, y = screen_to_model(100, 50, relative.space, geometry)
    assert (x, y) == (312, 208)  # 200 px of 640 -> 312.5 on the 0..1000 grid (round half even)
    answers = [e.answer for e in episode_of(source, relative).examples]
    assert answers == [f"Action: click(start_box='<|box_start|>({x},{y})<|box_end|>')",
                       "Action: type(content='Buy bread')", "Action: finished()"]
    qwen = get_profile("Qwen2.5-VL-7B-Instruct")  # resized space, no box tokens
    mx, my = screen_to_model(100, 50, qwen.space, geometry)
    first = episode_of(source, qwen, thought="I will {action}").examples[0].answer
    assert first == f"Thought: I will click(start_box='(100,50)')\nAction: click(start_box='({mx},{my})')"
    doubao = episode_of(source, get_profile("doubao-1.5-ui-tars")).examples[0].answer
    assert doubao == f"Action: click(point='<point>{x} {y}</point>')"


def _settings(**kw):
    base = dict(lr=5e-3, epochs=6, batch_size=2, dropout=0.0, val_split=0.34, history_images=2,
                save_every=1000, seed=0)
    base.update(kw)
    return TuneSettings(**base)


def _three_runs(tmp_path, policy):
    for i in range(3):
        record_run(tmp_path / f"run{i}", policy, images=screens(shift=4 * i), history_images=2)
    return [str(tmp_path / f"run{i}") for i in range(3)]


def test_loss_falls_on_held_out_runs_and_the_adapter_runs(ckpts, tmp_path):
    """Three recorded runs; one is held out. Its loss falls; the manifest and log say so; the
    adapter folder is complete and the hf policy takes its profile and base from it."""
    from tars.models.hf import HFPolicy

    policy = HFPolicy(str(ckpts["qwen2_5_vl"]))
    data = _three_runs(tmp_path, policy)
    policy.close()
    out = tmp_path / "adapter"
    events = []
    manifest = finetune(data, str(ckpts["qwen2_5_vl"]), out, _settings(),
                        on_event=lambda kind, info: events.append((kind, info)))
    assert manifest["data"]["train_samples"] == 8 and manifest["data"]["val_samples"] == 4
    res = manifest["results"]
    assert res["val_loss"] < 0.5 * res["val_loss_start"], res
    rows = [json.loads(line) for line in (out / "train_log.jsonl").read_text().splitlines()]
    vals = [r["val_loss"] for r in rows if "val_loss" in r]
    assert len(vals) == 7 and vals[-1] == res["val_loss"]  # step 0 and each of the 6 epochs
    assert [r["step"] for r in rows if "loss" in r] == list(range(1, 25))
    assert {"adapter_config.json", "adapter_model.safetensors", MANIFEST} <= {p.name for p in out.iterdir()}
    assert not partial_folder(out).exists()
    saved = json.loads((out / MANIFEST).read_text())
    assert saved["profile"] == "ui-tars-1.5" and saved["harness"]["history_images"] == 2
    assert saved["base_model"]["model_type"] == "qwen2_5_vl"
    assert json.loads((out / "adapter_config.json").read_text())["base_model_name_or_path"] == str(ckpts["qwen2_5_vl"])
    assert [k for k, _ in events][:2] == ["prepared", "start"] and events[-1][0] == "done"

    tuned = HFPolicy(None, adapter=str(out), max_new_tokens=40)  # no --model: the manifest's base
    assert tuned.model_id == str(ckpts["qwen2_5_vl"]) and tuned.profile.name == "ui-tars-1.5"
    tuned.close()


def test_mismatching_base_is_refused(ckpts, tmp_path):
    """An adapter is refused on another checkpoint, even one of the same architecture and size
    (other weights), before that checkpoint loads; an unreadable manifest is one clear error."""
    from tars.models.hf import HFPolicy

    policy = HFPolicy(str(ckpts["qwen2_vl"]))
    record_run(tmp_path / "run", policy)
    policy.close()
    out = tmp_path / "adapter"
    finetune([str(tmp_path / "run")], str(ckpts["qwen2_vl"]), out, _settings(epochs=1, val_split=0))
    twin = build_tiny_vl(tmp_path / "twin", "qwen2_vl", layers=2, init_std=0.2, seed=7)
    with pytest.raises(PolicyError, match="different checkpoint"):
        HFPolicy(str(twin), adapter=str(out))
    with pytest.raises(PolicyError, match=r"qwen2_vl\); --model .* is a qwen2_5_vl checkpoint"):
        HFPolicy(str(ckpts["qwen2_5_vl"]), adapter=str(out))
    (out / MANIFEST).write_text("{not json")
    with pytest.raises(PolicyError, match="not readable JSON"):
        HFPolicy(str(ckpts["qwen2_vl"]), adapter=str(out))


def _adapter_weights(folder: Path) -> dict:
    from safetensors.torch import load_file

    return load_file(folder / "adapter_model.safetensors")


def test_interrupted_run_resumes_to_the_same_adapter(ckpts, tmp_path):
    """Ctrl+C at step 5 keeps a checkpoint and no adapter; --resume continues from it with the
    same order, optimizer and random state (dropout on): the adapter equals an uninterrupted
    run's. Starting again without --resume is refused."""
    from tars.models.hf import HFPolicy

    policy = HFPolicy(str(ckpts["qwen2_vl"]))
    data = _three_runs(tmp_path, policy)
    policy.close()
    settings = dict(epochs=2, dropout=0.1, save_every=2, val_split=0.34)
    whole = tmp_path / "whole"
    finetune(data, str(ckpts["qwen2_vl"]), whole, _settings(**settings))

    out = tmp_path / "cut"

    def stop_at_5(kind, info):
        if kind == "step" and info["step"] == 5:
            raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        finetune(data, str(ckpts["qwen2_vl"]), out, _settings(**settings), on_event=stop_at_5)
    assert not out.exists()
    partial = partial_folder(out)
    assert torch.load(partial / "checkpoint" / "state.pt", weights_only=False)["step"] == 5
    with pytest.raises(FinetuneError, match="--resume"):
        finetune(data, str(ckpts["qwen2_vl"]), out, _settings(**settings))
    with pytest.raises(FinetuneError, match="other data or settings"):
        finetune(data, str(ckpts["qwen2_vl"]), out, _settings(**{**settings, "lr": 1e-3}), resume=True)
    steps = []
    finetune(data, str(ckpts["qwen2_vl"]), out, _settings(**settings), resume=True,
             on_event=lambda kind, info: steps.append(info["step"]) if kind == "step" else None)
    assert steps == [6, 7, 8]
    a, b = _adapter_weights(whole), _adapter_weights(out)
    assert a.keys() == b.keys()
    for key in a:
        torch.testing.assert_close(a[key], b[key], rtol=1e-5, atol=1e-6)
    log = [json.loads(line) for line in (out / "train_log.jsonl").read_text().splitlines()]
    assert [r["step"] for r in log if "loss" in r] == list(range(1, 9))


def _cli(*args, timeout=240, **kw):
    return subprocess.run([sys.executable, "-m", "tars", *args], cwd=ROOT, capture_output=True,
                          text=True, timeout=timeout, **kw)


def test_bad_input_is_one_line_and_writes_nothing(ckpts, tmp_path):
    from tars.models.hf import HFPolicy

    out = tmp_path / "out"
    empty = tmp_path / "empty"
    empty.mkdir()
    proc = _cli("finetune", str(empty), "--model", str(ckpts["qwen2_vl"]), "--out", str(out))
    assert proc.returncode == 2 and "is not a trajectory (no meta.json)" in proc.stderr
    assert proc.stderr.count("\n") == 1 and not out.exists() and not partial_folder(out).exists()

    policy = HFPolicy(str(ckpts["qwen2_vl"]))
    record_run(tmp_path / "run", policy)
    policy.close()
    (tmp_path / "run" / "step-0002.png").unlink()
    proc = _cli("finetune", str(tmp_path / "run"), "--model", str(ckpts["qwen2_vl"]), "--out", str(out))
    assert proc.returncode == 2 and "step 2 has no screenshot (step-0002.png)" in proc.stderr

    text_only = build_text_only(tmp_path / "text-only")
    record_run(tmp_path / "run2", HFPolicy(str(ckpts["qwen2_vl"])))
    proc = _cli("finetune", str(tmp_path / "run2"), "--model", str(text_only), "--out", str(out))
    assert proc.returncode == 2 and "qwen2 checkpoint" in proc.stderr and "knows the prompt format" in proc.stderr
    proc = _cli("finetune", str(tmp_path / "run2"), "--model", str(ckpts["qwen2_vl"]), "--out", str(out),
                "--target-modules", r".*no_such_layer")
    assert proc.returncode == 2 and "cannot put LoRA on" in proc.stderr
    assert not out.exists() and not partial_folder(out).exists()
    out.mkdir()
    proc = _cli("finetune", str(tmp_path / "run2"), "--model", str(ckpts["qwen2_vl"]), "--out", str(out))
    assert proc.returncode == 2 and "already exists" in proc.stderr


FULL_DISK = r"""
import resource, signal, sys
signal.signal(signal.SIGXFSZ, signal.SIG_IGN)  # a write past the limit fails with EFBIG instead
from tars.agent.finetune.train import TuneSettings, finetune, FinetuneError
settings = TuneSettings(epochs=1, val_split=0, history_images=2, save_every=1000)
resource.setrlimit(resource.RLIMIT_FSIZE, (40_000, 40_000))  # the log fits, the weights do not
try:
    finetune([sys.argv[1]], sys.argv[2], sys.argv[3], settings)
except FinetuneError as exc:
    print(exc.exit_code, exc)
"""


def test_a_full_disk_while_saving_leaves_no_adapter(ckpts, tmp_path):
    """Writes past a file-size limit fail (as on a full disk) while the adapter is saved: a
    clear error, no OUT folder, the training log kept in OUT.partial."""
    from tars.models.hf import HFPolicy

    record_run(tmp_path / "run", HFPolicy(str(ckpts["qwen2_vl"])))
    out = tmp_path / "out"
    proc = subprocess.run([sys.executable, "-c", FULL_DISK, str(tmp_path / "run"), str(ckpts["qwen2_vl"]), str(out)],
                          cwd=ROOT, capture_output=True, text=True, timeout=240)
    assert proc.stdout.startswith("1 cannot write the adapter"), proc.stdout + proc.stderr
    assert f"{out} was not created" in proc.stdout
    assert not out.exists()
    partial = partial_folder(out)
    assert (partial / "train_log.jsonl").exists() and not (partial / "adapter.tmp").exists()


def test_merge_writes_a_checkpoint_that_answers_like_base_plus_adapter(ckpts, tmp_path):
    """--merge: OUT/merged loads as an ordinary checkpoint (no --adapter) and its logits equal
    those of the base with the adapter on top."""
    from tars.models.hf import HFPolicy

    policy = HFPolicy(str(ckpts["qwen2_vl"]))
    scripted = record_run(tmp_path / "run", policy)
    policy.close()
    out = tmp_path / "adapter"
    finetune([str(tmp_path / "run")], str(ckpts["qwen2_vl"]), out, _settings(epochs=2, val_split=0), merge=True)
    assert json.loads((out / "merged" / MANIFEST).read_text())["merged"] is True
    tuned = HFPolicy(str(ckpts["qwen2_vl"]), adapter=str(out), vision_cache=False)
    merged = HFPolicy(str(out / "merged"), profile=tuned.profile.name, vision_cache=False)
    base = HFPolicy(str(ckpts["qwen2_vl"]), vision_cache=False)
    prompt = scripted.prompts[2]
    with torch.no_grad():
        a = tuned.model(**tuned.build_inputs(prompt)).logits
        b = merged.model(**merged.build_inputs(prompt)).logits
        c = base.model(**base.build_inputs(prompt)).logits
    torch.testing.assert_close(a, b, rtol=1e-4, atol=1e-4)
    assert not torch.allclose(a, c, atol=1e-3)  # the adapter changed the model
