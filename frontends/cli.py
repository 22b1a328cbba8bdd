"""The `tars` command line (typer). Each command imports its heavy parts lazily, so that
`tars parse` and `tars --help` stay fast and work without torch, Qt or a display.

Exit status (DESIGN.md): 0 when a run finished, 1 on call_user, limits or a failed
evaluation, 2 on bad input with a one-line reason on stderr, 128 + N when stopped by signal N
(130 Ctrl+C), 70 on an internal error (one line; TARS_DEBUG=1 shows the traceback).
"""

from __future__ import annotations

import sys
from typing import Annotated, Any, Optional

import typer

app = typer.Typer(
    name="tars",
    help="tars: a desktop GUI agent in the style of UI-TARS.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)


#: exit status of an unexpected error inside tars (a bug), BSD sysexits' EX_SOFTWARE
INTERNAL_ERROR = 70


def fail(message: str, code: int = 2) -> "typer.Exit":
    """Print a one-line reason on stderr and return the Exit to raise."""
    print(f"tars: {message}".replace("\n", " "), file=sys.stderr)
    return typer.Exit(code)


# The policy options every command that runs a policy takes (run, eval grounding, eval tasks),
# declared once (DESIGN.md: `[policy options]`).
PolicyOpt = Annotated[Optional[str], typer.Option("--policy", help="lite (default) | hf | openai")]
ModelOpt = Annotated[Optional[str], typer.Option("--model", help="Hub id or local folder (hf), served name (openai).")]
AdapterOpt = Annotated[Optional[str], typer.Option("--adapter", help="LoRA adapter folder (hf).")]
MergeOpt = Annotated[bool, typer.Option("--merge-adapter", help="Merge the LoRA weights into the model.")]
EndpointOpt = Annotated[Optional[str], typer.Option("--endpoint", help="OpenAI-compatible base URL; implies --policy openai.")]
ApiKeyOpt = Annotated[Optional[str], typer.Option("--api-key", envvar="TARS_API_KEY", help="API key (or $TARS_API_KEY / $OPENAI_API_KEY); never written anywhere.")]
MaxTokensOpt = Annotated[Optional[int], typer.Option("--max-new-tokens", min=1, help="Tokens the model may write per answer (default: the profile's).")]
TimeoutOpt = Annotated[Optional[float], typer.Option("--timeout", min=0.1, help="Seconds per request to the endpoint (default 60).")]
ProfileOpt = Annotated[Optional[str], typer.Option("--profile", help="Model profile (prompt, coordinates, pixels); default from the model name. See `tars models`.")]
HarnessOpt = Annotated[str, typer.Option("--harness", help="Episode rules: tars (default) | osworld (OSWorld's runner, rule for rule; docs/harness.md).")]
SleepOpt = Annotated[Optional[float], typer.Option("--sleep-after-execution", help="--harness osworld: fixed sleep after each action, seconds (OSWorld's default 3).")]
LanguageOpt = Annotated[Optional[str], typer.Option("--language", help="Language of the model's thoughts (default English; Chinese with --harness osworld, as OSWorld's runner).")]
PlannerEndpointOpt = Annotated[Optional[str], typer.Option("--planner-endpoint", help="Planner + grounder mode: OpenAI-compatible URL of the planner; the policy above becomes the grounder.")]
PlannerModelOpt = Annotated[Optional[str], typer.Option("--planner-model", help="Planner's served model name; alone (no --planner-endpoint): a local hf model.")]
PlannerProfileOpt = Annotated[Optional[str], typer.Option("--planner-profile", help="Planner's image budget profile (default qwen2.5-vl).")]


def _check_harness(harness: str, policy) -> None:
    """Fail (PolicyError) when ``harness`` has no rules for the policy's model family."""
    from tars.agent.harness import get_harness
    from tars.models.base import PolicyError

    if harness == "tars" or policy.profile is None:
        return
    try:
        get_harness(harness, policy.profile)
    except ValueError as exc:
        policy.close()
        raise PolicyError(str(exc)) from None


@app.command("run")
def run_command(
    instruction: str = typer.Argument(..., help="What to do, in plain language."),
    policy: PolicyOpt = None,
    model: ModelOpt = None,
    adapter: AdapterOpt = None,
    merge_adapter: MergeOpt = False,
    endpoint: EndpointOpt = None,
    api_key: ApiKeyOpt = None,
    profile: ProfileOpt = None,
    max_new_tokens: MaxTokensOpt = None,
    timeout: TimeoutOpt = None,
    planner_endpoint: PlannerEndpointOpt = None,
    planner_model: PlannerModelOpt = None,
    planner_profile: PlannerProfileOpt = None,
    max_steps: int = typer.Option(50, "--max-steps", min=1),
    max_seconds: float = typer.Option(None, "--max-seconds", min=0.001, help="Wall-time limit, seconds."),
    history_images: int = typer.Option(None, "--history-images", min=1, help="Screenshots per prompt (default 5, or what a tars adapter was tuned with)."),
    language: LanguageOpt = None,
    harness: HarnessOpt = "tars",
    sleep_after_execution: SleepOpt = None,
    monitor: int = typer.Option(1, "--monitor", min=1, help="mss monitor index (1 = primary)."),
    dry_run: bool = typer.Option(False, "--dry-run", help="Look, think and print, but perform nothing."),
    image: list[str] = typer.Option(None, "--image", help="With --dry-run: screenshots to serve instead of the screen."),
    record: str = typer.Option(None, "--record", help="Write the trajectory to this folder."),
    overlay: bool = typer.Option(None, "--overlay/--no-overlay", help="Show the overlay (default: on when a screen is present)."),
    overlay_in_captures: bool = typer.Option(False, "--overlay-in-captures", help="Keep the overlay visible in the screenshots (for screen recording; the model sees it too)."),
    confirm_risky: bool = typer.Option(False, "--confirm-risky", help="Ask before destructive commands and closing keys (the default now; kept for old scripts)."),
    allow_risky: bool = typer.Option(False, "--allow-risky", help="Perform risky actions (Ctrl+Alt+Delete, logout, power, rm -rf in a terminal) without asking. By default tars asks at a terminal and refuses them when nobody is there."),
    type_interval: float = typer.Option(0.004, "--type-interval", min=0, max=1, help="Seconds between typed characters (slow programs may drop fast keys)."),
    as_json: bool = typer.Option(False, "--json", help="Print the result object as JSON on stdout."),
) -> None:
    """Run an instruction on this desktop until finished, call_user or a limit."""
    import json
    import os

    from tars.agent.runbuild import (
        PolicyOptions,
        RunOptions,
        build_agent,
        make_operator,
        make_policy,
        tuned_manifest,
    )
    from tars.models.base import PolicyError

    tuned = tuned_manifest(adapter).get("harness") or {}  # a tars adapter runs as it was tuned
    history_images = history_images or int(tuned.get("history_images") or 5)
    language = language or tuned.get("language")
    options = PolicyOptions(policy, model, adapter, merge_adapter, endpoint, api_key, profile, max_new_tokens, timeout,
                            planner_endpoint=planner_endpoint, planner_model=planner_model,
                            planner_profile=planner_profile)
    run_options = RunOptions(options, max_steps=max_steps, max_seconds=max_seconds,
                             history_images=history_images, language=language, monitor=monitor,
                             dry_run=dry_run, confirm_risky=confirm_risky, allow_risky=allow_risky, type_interval=type_interval,
                             harness=harness, sleep_after_execution=sleep_after_execution)
    try:
        run_options.check()
        pol = make_policy(options)
        _check_harness(harness, pol)
    except PolicyError as exc:
        raise fail(str(exc))
    try:  # an instruction the policy cannot follow fails before anything moves
        pol.prepare(instruction)
    except PolicyError as exc:
        raise fail(str(exc))
    if record:
        try:
            _check_record_folder(record)
        except OSError as exc:
            raise fail(str(exc))
    try:
        op = make_operator(run_options, image)
    except Exception as exc:  # OperatorError, DisplayError, ImportError: all bad setup
        raise fail(str(exc))
    from tars.agent.console import ConsoleHook

    hooks: list = [ConsoleHook(quiet=as_json)]
    if record:
        from tars.agent.trajectory import TrajectoryRecorder

        hooks.append(TrajectoryRecorder(record))
    agent = build_agent(run_options, pol, op, hooks, confirm=_ask_confirm if sys.stdin.isatty() else None,
                        extra={"front_end": "run"})
    if overlay is None:
        overlay = bool(os.environ.get("DISPLAY")) and not dry_run
    from tars.frontends.signals import run_stoppable

    signalled = None
    try:
        if overlay:
            try:
                from tars.frontends.overlay import run_with_overlay
            except ImportError as exc:
                print(f"tars: overlay unavailable ({exc}); running without it", file=sys.stderr)
                overlay = False
        if overlay:
            from tars.frontends.overlay import OverlaySettings

            result, signalled = run_with_overlay(
                agent, instruction, OverlaySettings(keep_in_captures=overlay_in_captures),
                with_signal=True)
        else:  # Ctrl+C / SIGTERM / SIGHUP stop the run; they never land inside an X request
            result, signalled = run_stoppable(lambda: agent.run(instruction), agent.stop)
    finally:
        op.close()
        pol.close()
    if as_json:
        print(json.dumps(result.to_json(), ensure_ascii=False))
    raise typer.Exit(signalled or result.exit_code)


def _check_record_folder(folder: str) -> None:
    """Raise OSError (with a reason for people) unless ``folder`` can take a new trajectory."""
    import os
    from pathlib import Path

    path = Path(folder)
    if path.exists() and not path.is_dir():
        raise OSError(f"--record {folder}: exists and is not a folder")
    if (path / "steps.jsonl").exists():
        raise OSError(f"--record {folder}: already holds a trajectory; choose a new folder")
    try:
        path.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise OSError(f"--record {folder}: cannot create it ({exc.strerror or exc})") from None
    if not os.access(path, os.W_OK):
        raise OSError(f"--record {folder}: not writable")


def _ask_confirm(action, reason: str) -> bool:
    """Ask on the terminal whether a risky action may run (no terminal: refuse)."""
    if not sys.stdin.isatty():
        return False
    answer = input(f"tars wants to {action.to_text()} — it {reason}. Allow? [y/N] ")
    return answer.strip().lower() in ("y", "yes")


@app.command("replay")
def replay_command(
    folder: str = typer.Argument(..., help="A trajectory folder (tars run --record, tars record)."),
    dry_run: bool = typer.Option(False, "--dry-run", help="Print the actions instead of performing them."),
    monitor: int = typer.Option(1, "--monitor", min=1),
    pause: float = typer.Option(0.5, "--pause", help="Seconds between steps."),
) -> None:
    """Perform a recorded run's actions again, in screen points, step by step."""
    import json

    from tars.actions.space import action_from_json
    from tars.agent.trajectory import read_trajectory

    try:
        traj = read_trajectory(folder)
        steps = [[action_from_json(a.screen) for a in s.actions] for s in traj.steps]
    except (OSError, ValueError, KeyError) as exc:
        raise fail(f"cannot replay {folder}: {exc}")
    if not steps:  # a run killed before its first step, or one that ended at once
        raise fail(f"{folder} has no recorded steps to replay")
    if dry_run:
        for num, actions in enumerate(steps, 1):
            for a in actions:
                print(json.dumps({"step": num, **a.to_json()}, ensure_ascii=False))
        raise typer.Exit(0)
    from tars.desktop.local import LocalOperator
    from tars.desktop.operator import OperatorError
    from tars.frontends.replay import Replay, ReplayError
    from tars.frontends.signals import run_stoppable

    replay = Replay(steps, lambda: LocalOperator(monitor=monitor), pause)
    try:  # Ctrl+C / SIGTERM / SIGHUP stop the replay; they never land inside an X request
        _, signalled = run_stoppable(replay.run, replay.stop)
    except ReplayError as exc:
        raise fail(str(exc), 1)
    except OperatorError as exc:  # no display, no XTEST: bad setup
        raise fail(str(exc))
    if replay.stopped_at is not None:
        print(f"tars: replay {replay.reason or 'stopped'} at step {replay.stopped_at} of {len(steps)}",
              file=sys.stderr)
    if signalled or replay.stopped_at is not None:
        raise typer.Exit(signalled or 1)


@app.command("models")
def models_command(
    as_json: bool = typer.Option(False, "--json", help="Print the profiles as JSON."),
) -> None:
    """List the model profiles: coordinate space, image budget, history, answer dialect, source.

    A profile is picked from the model name (Hub id, folder, served name) or set with --profile.
    """
    import json

    from rich.console import Console
    from rich.table import Table

    from tars.models.family_profiles import DIALECTS, describe_space
    from tars.models.profiles import PROFILES

    rows: list[dict[str, Any]] = []
    for p in PROFILES.values():
        sp = p.space
        rows.append({
            "name": p.name, "family": p.family, "role": "grounder" if p.grounding_only else "agent",
            "coordinates": describe_space(sp), "truncate": sp.truncate,
            "image_budget": {"factor": sp.factor, "min_pixels": sp.min_pixels, "max_pixels": sp.max_pixels},
            "history_images": p.history_images, "dialect": DIALECTS.get(p.prompt_style, p.prompt_style),
            "sampling": {"temperature": p.temperature, "top_p": p.top_p, "max_new_tokens": p.max_new_tokens},
            "description": p.description, "source": p.source,
        })
    if as_json:
        print(json.dumps(rows, indent=2))
        return
    table = Table(title="tars model profiles (--profile NAME)", show_lines=False)
    for col in ("profile", "role", "coordinates", "image budget (px)", "images", "answers", "source"):
        table.add_column(col, overflow="fold")
    for r in rows:
        b = r["image_budget"]
        table.add_row(r["name"], r["role"], r["coordinates"],
                      f"{b['min_pixels']:,}..{b['max_pixels']:,} /{b['factor']}", str(r["history_images"]),
                      r["dialect"], r["source"] or r["description"])
    Console().print(table)


@app.command("parse")
def parse_command(
    image_size: str = typer.Option(
        None, "--image-size", metavar="WxH",
        help="Screenshot size in physical pixels; without it coordinates stay in model space.",
    ),
    coords: str = typer.Option(
        "resized", "--coords", help="Model coordinate space: relative | resized | absolute."
    ),
    scale: float = typer.Option(1.0, "--scale", help="Screenshot pixels per screen point (2 on Retina)."),
    min_pixels: int = typer.Option(None, "--min-pixels", help="smart_resize min_pixels (default 100*28*28)."),
    max_pixels: int = typer.Option(None, "--max-pixels", help="smart_resize max_pixels (default 16384*28*28)."),
) -> None:
    """Read model text on stdin, print its thought and actions as one JSON object.

    x, y (and x2, y2 for drag) are screen points (screenshot pixels / --scale) when --image-size is given, model-space numbers as written otherwise. Exit 2 on bad input.
    """
    from tars.frontends import stdout
    from tars.frontends.parse_cmd import ParseCommandError, parse_input, read_stdin

    try:
        line = parse_input(read_stdin(), image_size=image_size, coords=coords, scale=scale,
                           min_pixels=min_pixels, max_pixels=max_pixels)
    except ParseCommandError as exc:
        raise fail(str(exc)) from None
    code = stdout.write_line(line)
    if code:
        raise typer.Exit(code)


@app.command("app")
def app_command(
    trajectory: str = typer.Argument(None, help="A recorded trajectory folder to open."),
) -> None:
    """Open the desktop app: instruction, policy settings, Run/Pause/Stop, live trace."""
    import os

    if trajectory is not None:  # a wrong folder is bad input: say so before Qt starts
        from tars.agent.trajectory import read_trajectory

        try:
            read_trajectory(trajectory)
        except FileNotFoundError as exc:
            raise fail(f"{trajectory} does not exist" if not os.path.exists(trajectory) else str(exc))
        except (ValueError, OSError) as exc:
            raise fail(f"{trajectory} is not a readable trajectory: {exc}")
    if sys.platform.startswith("linux") and not (os.environ.get("DISPLAY") or os.environ.get("WAYLAND_DISPLAY")):
        raise fail("tars app needs a screen: no DISPLAY (run it in a desktop session)")
    try:
        from tars.frontends.app.window import run_app
    except ImportError as exc:
        raise fail(f'the app needs PySide6 ({exc}); pip install "tars[gui]"')
    raise typer.Exit(run_app(trajectory))


# -- evaluation, reports, demonstrations (agent/eval/, agent/demo.py) ----------------------
eval_app = typer.Typer(help="Measure a policy: grounding sets and task suites.", no_args_is_help=True)
app.add_typer(eval_app, name="eval")


@eval_app.command("grounding")
def eval_grounding_command(
    dataset: str = typer.Argument(..., help="ScreenSpot(-v2/-Pro) JSON file, or a folder of them."),
    policy: PolicyOpt = None,
    model: ModelOpt = None,
    adapter: AdapterOpt = None,
    merge_adapter: MergeOpt = False,
    endpoint: EndpointOpt = None,
    api_key: ApiKeyOpt = None,
    profile: ProfileOpt = None,
    max_new_tokens: MaxTokensOpt = None,
    timeout: TimeoutOpt = None,
    planner_endpoint: PlannerEndpointOpt = None,
    planner_model: PlannerModelOpt = None,
    planner_profile: PlannerProfileOpt = None,
    out: str = typer.Option(None, "--out", help="Folder for results.jsonl and summary.json."),
    bbox_format: str = typer.Option(None, "--bbox-format", help="xywh | xyxy for every record (default: xyxy when a record has img_size)."),
    images: str = typer.Option(None, "--images", help="Extra folder to look for the screenshots in."),
    limit: int = typer.Option(None, "--limit", min=1, help="Only the first N records."),
    harness: HarnessOpt = "tars",
) -> None:
    """Ask the policy for one point per record and score hits inside the target box."""
    from rich.console import Console

    from tars.agent.runbuild import PolicyOptions, RunOptions, make_policy
    from tars.evals import grounding
    from tars.evals.console import grounding_table, with_progress
    from tars.models.base import PolicyError

    try:
        records = grounding.load_dataset(dataset, bbox_format, images)[:limit]
    except grounding.DatasetError as exc:
        raise fail(str(exc))
    options = PolicyOptions(policy, model, adapter, merge_adapter, endpoint, api_key, profile, max_new_tokens, timeout,
                            planner_endpoint=planner_endpoint, planner_model=planner_model,
                            planner_profile=planner_profile)
    try:
        RunOptions(options, harness=harness).check()
        pol = make_policy(options)
        _check_harness(harness, pol)
    except PolicyError as exc:
        raise fail(str(exc))
    hits = [0, 0]

    def note(row: dict) -> str:
        hits[0] += bool(row["hit"])
        hits[1] += 1
        return f"accuracy {100 * hits[0] / hits[1]:.1f} %"

    settings = {**options.public(), "dataset": dataset, "bbox_format": bbox_format or "auto", "harness": harness}
    try:
        summary = with_progress(len(records), "grounding", lambda on_row: grounding.evaluate(
            records, pol, out, settings=settings, on_result=on_row, harness=harness), note)
    except (PolicyError, OSError) as exc:
        raise fail(f"evaluation stopped: {exc}", 1)
    finally:
        pol.close()
    Console().print(grounding_table(summary))


@eval_app.command("tasks")
def eval_tasks_command(
    suite: str = typer.Argument("practice", help="Task JSON file, folder of them, 'practice' (the shipped suite), or OSWorld's evaluation_examples (an index file such as test_all.json, or the folder)."),
    policy: PolicyOpt = None,
    model: ModelOpt = None,
    adapter: AdapterOpt = None,
    merge_adapter: MergeOpt = False,
    endpoint: EndpointOpt = None,
    api_key: ApiKeyOpt = None,
    profile: ProfileOpt = None,
    max_new_tokens: MaxTokensOpt = None,
    timeout: TimeoutOpt = None,
    planner_endpoint: PlannerEndpointOpt = None,
    planner_model: PlannerModelOpt = None,
    planner_profile: PlannerProfileOpt = None,
    out: str = typer.Option(None, "--out", help="Folder for results, summary and one trajectory per task (default: tars-eval-<time>)."),
    jobs: int = typer.Option(1, "--jobs", min=1, help="Tasks run side by side, each on its own virtual display."),
    max_steps: int = typer.Option(None, "--max-steps", min=1, help="Override every task's step limit."),
    max_seconds: float = typer.Option(300.0, "--max-seconds", help="Wall-time limit of one task's run, seconds."),
    history_images: int = typer.Option(None, "--history-images", min=1, help="Screenshots per prompt (default 5, or what a tars adapter was tuned with)."),
    language: LanguageOpt = None,
    harness: HarnessOpt = "tars",
    sleep_after_execution: SleepOpt = None,
    task: list[str] = typer.Option(None, "--task", help="Run only these task ids (repeatable)."),
    domain: list[str] = typer.Option(None, "--domain", help="OSWorld suites: run only these domains (repeatable)."),
    cache: str = typer.Option(None, "--cache", help="OSWorld suites: folder for the files setup and evaluation download (kept between runs)."),
    ray: str = typer.Option(None, "--ray", help="Run the tasks on a Ray cluster: 'local' (a local instance) or its address (ray://host:10001, auto); --jobs tasks at a time."),
) -> None:
    """Run a task suite, each task on a fresh virtual display, and score it (exit 1 unless all succeed).

    OSWorld's task files run unchanged through OSWorld's own setup and evaluation code
    (desktop-env); tasks that cannot run here are skipped with the reason (summary.json), and
    the results are also in OSWorld's layout (pyautogui/screenshot/<model>/<domain>/<id>/).

    Ctrl+C, SIGTERM or SIGHUP stops the running tasks (status stopped), keeps results.jsonl and
    writes summary.json for what ran (tars report works on it), then exits 128 + the signal
    (130, 143, 129).
    """
    import time
    from pathlib import Path

    from rich.console import Console

    from tars.agent.runbuild import PolicyOptions, RunOptions, tuned_manifest
    from tars.evals.console import tasks_table, with_progress
    from tars.evals.osworld.suite import is_osworld_suite, load_osworld
    from tars.evals.tasks import RunSettings, Task, TaskError, check_policy, load_suite, run_suite
    from tars.models.base import PolicyError

    if adapter and Path(adapter).expanduser().exists():  # the workers run in another folder
        adapter = str(Path(adapter).expanduser().resolve())
    tuned = tuned_manifest(adapter).get("harness") or {}
    history_images = history_images or int(tuned.get("history_images") or 5)
    skipped = None
    tasks: list[Task]
    try:
        if is_osworld_suite(suite):
            name = Path(model).name if model else (policy or "lite")
            loaded, skips = load_osworld(suite, domains=domain or None, cache=cache, model=name)
            tasks = list(loaded)
            skipped = [s.to_json() for s in skips if not task or s.id in set(task)]
            if skipped:
                print(f"tars: {len(skipped)} OSWorld tasks skipped (reasons in summary.json)", file=sys.stderr)
        elif domain or cache:
            raise fail("--domain and --cache are for OSWorld suites (an index file or evaluation_examples/)")
        else:
            tasks = load_suite(suite)
    except TaskError as exc:
        raise fail(str(exc))
    if task:
        unknown = sorted(set(task) - {t.id for t in tasks} - {s["id"] for s in skipped or []})
        if unknown:
            raise fail(f"no task with id {', '.join(unknown)} in {suite}")
        tasks = [t for t in tasks if t.id in set(task)]
    options = PolicyOptions(policy, model, adapter, merge_adapter, endpoint, api_key, profile, max_new_tokens, timeout,
                            planner_endpoint=planner_endpoint, planner_model=planner_model,
                            planner_profile=planner_profile)
    try:
        options.check()
        RunOptions(options, harness=harness, sleep_after_execution=sleep_after_execution).check()
    except PolicyError as exc:
        raise fail(str(exc))
    fields = {k: v for k, v in vars(options).items() if v not in (None, False)}
    try:  # a dead endpoint or bad policy fails once here, not once per task after its setup
        check_policy({"options": fields}, harness=harness)
    except PolicyError as exc:
        raise fail(str(exc))
    settings = RunSettings({"options": fields}, max_steps=max_steps, max_seconds=max_seconds,
                           history_images=history_images, language=language or tuned.get("language"),
                           jobs=jobs, harness=harness, sleep_after_execution=sleep_after_execution,
                           extra={"suite": suite})
    # absolute once, here: setup commands run inside each task's folder
    out = str(Path(out or f"tars-eval-{time.strftime('%Y%m%d-%H%M%S')}").resolve())
    done = [0]

    def note(row: dict) -> str:
        done[0] += bool(row["success"])
        return f"{row['id']}: {row['status']} · {done[0]} succeeded"

    from tars.frontends.signals import InterruptSignals

    # SIGTERM and SIGHUP stop the suite as Ctrl+C does (run_suite: running workers end their
    # runs as stopped, results and summary are kept); this thread only waits, it does no input
    signals = InterruptSignals()
    try:
        with signals:
            if ray:
                from tars.evals.osworld.ray_runner import run_suite_ray

                summary = with_progress(len(tasks), "tasks", lambda on_row: run_suite_ray(
                    tasks, out, settings, address=ray, on_result=on_row, skipped=skipped), note)
            else:
                summary = with_progress(len(tasks), "tasks", lambda on_row: run_suite(
                    tasks, out, settings, on_result=on_row, skipped=skipped), note)
    except TaskError as exc:
        raise fail(str(exc))
    Console().print(tasks_table(summary))
    if summary.get("interrupted"):
        stopped = summary["statuses"].get("stopped", 0)
        print(f"tars: interrupted: {summary['n_tasks'] - stopped} tasks finished, {stopped} stopped, "
              f"{len(summary['not_run'])} not run; results in {out}/ (tars report {out})", file=sys.stderr)
        raise typer.Exit(signals.exit_code or 130)
    print(f"results in {out}/ (tars report {out})", file=sys.stderr)
    raise typer.Exit(0 if summary["n_success"] == summary["n_tasks"] else 1)


@app.command("report")
def report_command(
    folder: str = typer.Argument(..., help="A trajectory folder or an evaluation --out folder."),
    out: str = typer.Option(None, "--out", help="HTML file to write (default: FOLDER/report.html)."),
) -> None:
    """Write one self-contained HTML report of a run or an evaluation."""
    from tars.frontends.report import write_report

    try:
        path = write_report(folder, out)
    except OSError as exc:  # no such run / evaluation, or an --out that cannot be written
        raise fail(str(exc))
    print(path)


@app.command("record")
def record_command(
    folder: str = typer.Argument(..., help="New folder for the demonstration's trajectory."),
    instruction: str = typer.Option("human demonstration", "--instruction", help="What you are doing (saved in meta.json)."),
    coords: str = typer.Option("resized", "--coords", help="Model space of the saved action text: relative | resized | absolute."),
    monitor: int = typer.Option(None, "--monitor", min=1, help="mss monitor index (default: primary)."),
    stop_hotkey: str = typer.Option("ctrl+alt+esc", "--stop-hotkey", help="Key combination that ends the recording."),
) -> None:
    """Record what you do (clicks, drags, scrolls, typing, hotkeys) as a trajectory; stop with the hotkey."""
    import os

    from tars.actions.coords import CoordSpace
    from tars.agent.trajectory import TrajectoryError
    from tars.desktop.operator import OperatorError
    from tars.frontends.recorder import DemoRecorder

    try:
        # pynput listens through X (Xwayland under Wayland): without it, say so plainly
        if sys.platform.startswith("linux") and not os.environ.get("DISPLAY"):
            raise fail("recording needs a graphical session: no X display (DISPLAY is unset)")
        rec = DemoRecorder(folder, instruction, CoordSpace(coords), monitor, stop_hotkey).start()  # type: ignore[arg-type]  # checked by CoordSpace
    except ImportError as exc:
        if "X connection" in str(exc) or "platform is not supported" in str(exc):
            raise fail(f"recording needs a graphical session: cannot connect to X display "
                       f"{os.environ.get('DISPLAY', '')!r}")
        raise fail(str(exc))
    except (ValueError, TrajectoryError, OperatorError) as exc:
        raise fail(str(exc))
    print(f"recording; press {stop_hotkey} to stop", file=sys.stderr)
    try:
        rec.wait()
    except KeyboardInterrupt:
        pass
    actions = rec.finish()
    print(f"{len(actions)} actions saved in {folder}" + (f" (stopped: {rec.error})" if rec.error else ""),
          file=sys.stderr)
    raise typer.Exit(1 if rec.error else 0)


@app.command("finetune")
def finetune_command(
    data: list[str] = typer.Argument(..., help="Trajectory folders (tars run --record), demonstrations (tars record) or evaluation folders (tars eval tasks --out)."),
    model: str = typer.Option(..., "--model", help="Base checkpoint to tune: Hub id or local folder."),
    out: str = typer.Option(..., "--out", help="New folder for the adapter (written whole, or not at all)."),
    profile: ProfileOpt = None,
    rank: int = typer.Option(16, "--rank", min=1, help="LoRA rank."),
    alpha: int = typer.Option(32, "--alpha", min=1, help="LoRA alpha (scale = alpha / rank)."),
    dropout: float = typer.Option(0.05, "--dropout", min=0.0, max=0.99, help="LoRA dropout."),
    target_modules: str = typer.Option(None, "--target-modules", help="Regex over module names (default: the language model's attention and MLP projections)."),
    train_merger: bool = typer.Option(False, "--train-merger", help="Also put LoRA on the vision-language merger (the vision tower stays frozen)."),
    lr: float = typer.Option(2e-4, "--lr", min=1e-9, help="Peak learning rate (AdamW, linear warm-up and decay)."),
    epochs: int = typer.Option(3, "--epochs", min=1),
    batch_size: int = typer.Option(1, "--batch-size", min=1, help="Samples per forward pass."),
    grad_accum: int = typer.Option(1, "--grad-accum", min=1, help="Forward passes per optimizer step."),
    max_steps: int = typer.Option(None, "--max-steps", min=1, help="Stop after this many optimizer steps."),
    val_split: float = typer.Option(0.1, "--val-split", min=0.0, max=0.9, help="Fraction held out for the validation loss (whole trajectories when there are several)."),
    gradient_checkpointing: bool = typer.Option(False, "--gradient-checkpointing", help="Recompute activations: less memory, slower."),
    history_images: int = typer.Option(None, "--history-images", min=1, help="Screenshots per prompt, as runs will send them (default: the profile's, 5)."),
    language: LanguageOpt = None,
    harness: HarnessOpt = "tars",
    thought: str = typer.Option("keep", "--thought", help="keep (recorded thoughts), empty, or a template with {action} / {instruction}."),
    include_failed: bool = typer.Option(False, "--include-failed", help="Also learn from runs that did not finish and tasks that failed."),
    device: str = typer.Option(None, "--device", help="cuda, cuda:1, mps, cpu (default: the first available)."),
    dtype: str = typer.Option(None, "--dtype", help="bfloat16 | float16 | float32 (default: bf16 on CUDA, fp32 on CPU)."),
    seed: int = typer.Option(0, "--seed"),
    save_every: int = typer.Option(50, "--save-every", min=1, help="Optimizer steps between checkpoints."),
    resume: bool = typer.Option(False, "--resume", help="Continue the interrupted run of --out from its last checkpoint."),
    merge: bool = typer.Option(False, "--merge", help="Also write OUT/merged: the base with the adapter folded in."),
) -> None:
    """Tune a LoRA adapter on your own demonstrations and successful runs (tars run --adapter OUT uses it)."""
    from tars.agent.finetune.train import TuneSettings
    from tars.frontends.finetune_console import run_finetune

    settings = TuneSettings(
        rank=rank, alpha=alpha, dropout=dropout, target_modules=target_modules, train_merger=train_merger,
        lr=lr, epochs=epochs, batch_size=batch_size, grad_accum=grad_accum, max_steps=max_steps,
        val_split=val_split, grad_checkpointing=gradient_checkpointing, history_images=history_images,
        language=language, harness=harness, thought=thought, include_failed=include_failed, profile=profile,
        device=device, dtype=dtype, seed=seed, save_every=save_every,
    )
    code, message = run_finetune(list(data), model, out, settings, resume=resume, merge=merge)
    if code:
        raise fail(message, code)
    print(message, file=sys.stderr)


def main() -> None:
    """Console-script entry point.

    Bad usage (an unknown option, a missing argument, a value out of range) ends with one
    line on stderr and exit status 2, like every other bad input, instead of Typer's box.
    """
    try:  # recent Typer carries its own copy of click
        from typer._click import exceptions as cx
    except ImportError:
        from click import exceptions as cx  # type: ignore[no-redef]

    try:
        code = app(standalone_mode=False)
    except cx.NoArgsIsHelpError:  # bare `tars` or `tars eval`: Typer has shown the help
        sys.exit(2)
    except cx.UsageError as exc:
        where = f" (see {exc.ctx.command_path} --help)" if exc.ctx else ""
        print(f"tars: {exc.format_message()}{where}".replace("\n", " "), file=sys.stderr)
        sys.exit(2)
    except cx.ClickException as exc:
        print(f"tars: {exc.format_message()}".replace("\n", " "), file=sys.stderr)
        sys.exit(exc.exit_code)
    except KeyboardInterrupt:  # Ctrl+C outside a run (a run handles its own signals)
        print("tars: interrupted", file=sys.stderr)
        sys.exit(130)
    except OSError as exc:
        from tars.frontends import stdout

        # the reader of stdout went away (`tars models | head`), or no room for the output
        # (`> /dev/full`); a command's own files report a full disk themselves
        if isinstance(exc, BrokenPipeError) or exc.errno in stdout.NO_ROOM:
            sys.exit(stdout.write_failed(exc))
        _internal_error(exc)
    except Exception as exc:
        _internal_error(exc)
    sys.exit(code if isinstance(code, int) else 0)


def _internal_error(exc: Exception) -> None:
    """A bug: one line, not a traceback (TARS_DEBUG=1 re-raises it); exits INTERNAL_ERROR."""
    import os

    if os.environ.get("TARS_DEBUG"):
        raise exc
    message = f"{type(exc).__name__}: {exc}".replace("\n", " ")
    print(f"tars: internal error: {message[:300]} (set TARS_DEBUG=1 for the traceback)",
          file=sys.stderr)
    sys.exit(INTERNAL_ERROR)


if __name__ == "__main__":
    main()
