"""The agent loop (DESIGN.md: loop.py): observe -> think -> parse -> convert -> act -> repeat.

One :class:`Agent` runs one instruction at a time on one operator with one policy, and
reports every event to its hooks (console, recorder, overlay, app). It stops on
``finished``, ``call_user``, the step limit, the time limit, a repeated-action loop, a
policy error, or :meth:`Agent.stop` (stop button, emergency hotkey, Ctrl+C).

The episode rules (``call_user`` tolerance, last-step FAIL, parse retries, settling or a fixed
sleep, the loop breaker, error feedback) are those of the run's harness
(:class:`tars.agent.harness.Harness`, ``AgentConfig.harness``); the loop has no rule of its own.
"""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass, field
from typing import Any, Callable

from tars.actions.coords import action_to_screen
from tars.actions.parse import ParseError, bound_answer, parse_response
from tars.actions.space import Action, CallUser, Finished, Step, Wait
from tars.agent.guard import Guard, LoopDetector, screen_changed
from tars.agent.harness import TARS, Harness
from tars.agent.history import History, start_history
from tars.agent.hooks import Hook, Hooks, RunInfo, RunResult, StepRecord
from tars.desktop.operator import Observation, Operator, OperatorError
from tars.models.base import Policy, PolicyError


@dataclass
class AgentConfig:
    """Settings of a run.

    ``max_steps``: steps before the run ends with ``max_steps`` (UI-TARS-desktop: 100; OSWorld
    evaluations use 15-100; 50 here). ``max_seconds``: wall-time limit, None for none.
    ``history_images``: screenshots per prompt, the current one included (UI-TARS: 5).
    ``language``: the Thought language (None: the harness's, English for tars, Chinese for
    osworld as OSWorld's runner hard-codes it).
    ``parse_retries``: extra attempts after an answer that does not parse (None: the harness's).
    ``loop_limit``: same action on an unchanged screen this many times is a loop (3).
    ``settle``: after acting, wait until two frames ``settle_interval`` s apart are equal,
    at most ``settle_timeout`` s, instead of a fixed sleep.
    ``confirm``: asked (action, reason) -> bool before a risky action; None allows all.
    ``task``: prompt template, ``computer`` | ``mobile``.
    ``harness``: the episode rules (:mod:`tars.agent.harness`): a :class:`Harness`, or its
    name (``tars`` | ``osworld``) resolved for the profile's family when the run starts; its
    ``settle`` and ``loop_breaker`` switch settling and the loop breaker off when False.
    ``sleep_after_execution``: overrides the harness's fixed sleep after an action, seconds
    (OSWorld's ``--sleep_after_execution``).
    """

    max_steps: int = 50
    max_seconds: float | None = None
    history_images: int = 5
    language: str | None = None
    parse_retries: int | None = None
    loop_limit: int = 3
    settle: bool = True
    settle_interval: float = 0.15
    settle_timeout: float = 3.0
    confirm: Callable[[Action, str], bool] | None = None
    task: str = "computer"
    settings: dict[str, Any] = field(default_factory=dict)
    harness: Harness | str = TARS
    sleep_after_execution: float | None = None


class _EndRun(Exception):
    def __init__(self, status: str, content: str = "", error: str | None = None,
                 final_action: str | None = None) -> None:
        super().__init__(error or status)
        self.status, self.content, self.error = status, content, error
        self.final_action = final_action


class Agent:
    """Runs instructions: ``Agent(policy, operator, config, hooks, profile).run(text)``.

    ``policy``: any :class:`tars.models.base.Policy`; its ``space`` says how to read its points.
    ``operator``: any :class:`tars.desktop.operator.Operator`. ``hooks``: observers of the run.
    ``profile``: a :class:`tars.models.profiles.ModelProfile` for the prompt template (default:
    the policy's own ``profile`` attribute, else the UI-TARS-1.5 profile).
    :meth:`stop`, :meth:`pause` and :meth:`resume` may be called from any thread.
    """

    def __init__(
        self,
        policy: Policy,
        operator: Operator,
        config: AgentConfig | None = None,
        hooks: list[Hook] | None = None,
        profile: Any = None,
    ) -> None:
        self.policy = policy
        self.operator = operator
        self.config = config or AgentConfig()
        self.hooks = Hooks(hooks)
        self.profile = profile if profile is not None else policy.profile
        self.guard = Guard(self.config.max_steps, self.config.max_seconds, self.config.confirm)
        self.running = False
        #: the space answers are converted from in the current run (the prompt's)
        self.space = policy.space
        self._final_action: str | None = None  # OSWorld action word of the latest step
        self._call_users = 0  # call_user answers tolerated so far in this run
        self.harness: Harness = TARS  # the resolved rules of the current run
        # The operator's emergency hotkey ends the run like the stop button.
        operator.on_emergency_stop(self.stop)

    # -- switches (any thread) -------------------------------------------------------------
    def stop(self, reason: str | None = None) -> None:
        """End the run as soon as possible (status ``stopped``; ``reason``, e.g. "stopped by
        SIGTERM", becomes the result's error); interrupts typing and waits."""
        self.guard.stop(reason)
        self.operator.stop_event.set()
        # a policy that can abandon an answer in progress (generation, HTTP request) does so
        self.policy.interrupt()

    def pause(self) -> None:
        """Hold the run before its next step."""
        self.guard.pause()

    def resume(self) -> None:
        """Continue a paused run."""
        self.guard.resume()

    @property
    def paused(self) -> bool:
        """True while the run is held."""
        return self.guard.paused

    # -- the loop --------------------------------------------------------------------------
    def _history(self, instruction: str) -> History:
        """The empty history of a run (:func:`tars.agent.history.start_history` with the run's
        harness, profile, policy space and settings)."""
        assert self.profile is not None  # set by _resolve_harness, which runs first
        return start_history(self.profile, self.harness, instruction, self.policy.space,
                             self.config.history_images, self.config.language, self.config.task)

    def _resolve_harness(self) -> Harness:
        """The run's rules: ``config.harness`` (a :class:`Harness`, or a name resolved for the
        profile's family) with ``config.sleep_after_execution`` applied.

        Raises:
            ValueError: unknown harness, or none for the profile's family.
        """
        from tars.agent.harness import get_harness
        from tars.models.profiles import get_profile

        if self.profile is None:
            self.profile = get_profile(None)
        harness = self.config.harness
        if isinstance(harness, str):
            harness = get_harness(harness, self.profile)
        if self.config.sleep_after_execution is not None:
            harness = harness.with_settings(sleep_after_action=float(self.config.sleep_after_execution))
        return harness

    def run(self, instruction: str) -> RunResult:
        """Run ``instruction`` to its end and return how it ended (never raises for a
        policy, parse or operator error: those end the run with status ``error``, or
        ``stopped`` when :meth:`stop` caused them by interrupting the policy)."""
        self.guard.start()
        self.operator.stop_event.clear()
        # --max-seconds bounds the run whatever the policy does: at the limit a request or a
        # generation in progress is interrupted, and the run ends as "timeout"
        out_of_time = threading.Event()
        timer = None
        if self.config.max_seconds is not None:
            def time_up() -> None:
                out_of_time.set()
                self.policy.interrupt()

            timer = threading.Timer(self.config.max_seconds, time_up)
            timer.daemon = True
            timer.start()
        started = time.time()
        steps = 0
        result: RunResult | None = None
        self.running = True
        settings = dict(self.config.settings)
        info = RunInfo(instruction, self.policy.name, self.policy.space, settings=settings,
                       model=self.policy.model_id, started=started)
        self._call_users = 0
        try:
            self.harness = harness = self._resolve_harness()
            self.policy.reset_interrupt()
            self.policy.prepare(instruction)
            history = self._history(instruction)
            # the answers are read in the space the prompt asked for (the harness's budget)
            self.space = info.space = history.space
            settings.update(harness=harness.name, harness_rules=harness.public(),
                            language=self.config.language or harness.language)
            self.hooks.run_start(info)
            detector = LoopDetector(self.config.loop_limit) if harness.loop_breaker else None
            acted = False
            while True:
                self.guard.wait_if_paused()
                if self.guard.stopped:
                    raise _EndRun("stopped")
                if self.guard.timed_out():
                    raise _EndRun("timeout", error=f"time limit of {self.config.max_seconds} s reached")
                if steps >= self.config.max_steps:
                    raise _EndRun("max_steps", error=f"step limit of {self.config.max_steps} reached",
                                  final_action=self._final_action)
                steps += 1
                self._step(steps, history, detector, settle=acted)
                acted = True
        except _EndRun as end:
            result = RunResult(end.status, end.content, steps, time.time() - started, end.error,
                               final_action=end.final_action)
        except KeyboardInterrupt:
            result = RunResult("stopped", "", steps, time.time() - started, "interrupted (Ctrl+C)")
        except (PolicyError, OperatorError, OSError, ValueError) as exc:
            # stop() interrupts the policy, whose act then raises: that is the stop, not a fault
            status = "stopped" if self.guard.stopped else "error"
            error = f"{type(exc).__name__}: {exc}"
            if status == "error" and out_of_time.is_set():
                status, error = "timeout", f"time limit of {self.config.max_seconds} s reached"
            result = RunResult(status, "", steps, time.time() - started, error)
        finally:
            self.running = False
            if timer is not None:
                timer.cancel()
            if result is not None and result.status == "stopped" and self.guard.stop_reason:
                result.error = self.guard.stop_reason  # "stopped by SIGTERM", not its echo
            if result is None:  # an unexpected exception is propagating: still end the run
                result = RunResult("error", "", steps, time.time() - started, "internal error")
            try:
                self.hooks.run_end(result)
            except OSError as exc:
                # keep the first error (e.g. the unwritable folder), not its echo at run_end
                if result.status != "error":
                    result.status, result.error = "error", str(exc)
        return result

    def _observe(self, step_num: int, settle: bool) -> Observation:
        self.hooks.before_observe(step_num)
        obs: Observation | None = None
        try:
            obs = self._capture(step_num)
            # Wait for animations to finish instead of a fixed sleep: compare successive frames.
            # The frame compared against its successor is the one kept when they agree, and
            # the policy prepares it (resize + encode) while the successor is awaited, so the
            # settled frame's request is ready when settling ends.
            if settle and self.config.settle and self.harness.settle and self.operator.live:
                deadline = time.monotonic() + self.config.settle_timeout
                while time.monotonic() < deadline and not self.guard.stopped:
                    self.policy.prefetch(obs.image)
                    self.guard.sleep(self.config.settle_interval)
                    nxt = self._capture(step_num)
                    if not screen_changed(obs.image, nxt.image):
                        break
                    obs = nxt
        finally:
            self.hooks.after_observe(step_num, obs)  # None when the observation failed
        return obs

    def _capture(self, step_num: int) -> Observation:
        """One frame, between the ``before_capture`` and ``after_capture`` events."""
        self.hooks.before_capture(step_num)
        try:
            return self.operator.observe()
        finally:
            self.hooks.after_capture(step_num)

    def _think(self, step_num: int, history: History, image) -> tuple[str, Step | None, str | None, int]:
        harness = self.harness
        retries = self.config.parse_retries if self.config.parse_retries is not None else harness.parse_retries
        failed: list[tuple[str, str]] = []
        for attempt in range(1, retries + 2):
            if self.guard.stopped:
                raise _EndRun("stopped")
            if harness.retry_feedback or not failed:
                prompt = history.prompt(image, failed)
            else:  # OSWorld: the same messages again, sampled at the retry temperature
                prompt = history.prompt(image)
                if harness.retry_temperature is not None:
                    prompt.sampling = {**prompt.sampling, "temperature": harness.retry_temperature}
            # cut to size and made writable once, before it is parsed, printed or recorded
            text = bound_answer(self.policy.act(prompt))
            try:
                step = parse_response(text)
            except ParseError as exc:
                error = f"Your answer could not be parsed: {exc}. Answer again in the format Thought: ... Action: ..."
                self.hooks.model_output(step_num, text, None, str(exc))
                failed.append((text, error))
                continue
            self.hooks.model_output(step_num, text, step, None)
            return text, step, None, attempt
        last_text = failed[-1][0] if failed else ""
        return last_text, None, f"model output did not parse after {len(failed)} attempts: {failed[-1][1]}", len(failed)

    def _step(self, step_num: int, history: History, detector: LoopDetector | None, settle: bool) -> None:
        harness = self.harness
        t0 = time.perf_counter()
        obs = self._observe(step_num, settle)
        t1 = time.perf_counter()
        text, step, error, attempts = self._think(step_num, history, obs.image)
        t2 = time.perf_counter()
        actions_model: list[Action] = list(step.actions) if step else []
        actions_screen = [action_to_screen(a, self.space, obs.geometry) for a in actions_model]
        action_ts = time.time()
        feedback: str | None = None
        end: _EndRun | None = None
        self._final_action = None
        if step is None:
            self._final_action = harness.parse_exhausted
            end = _EndRun("error", error=error, final_action=harness.parse_exhausted)
        else:
            verdict = detector.check(" ".join(a.to_text() for a in actions_screen), obs.image) if detector else None
            if verdict is not None and verdict.end:
                end = _EndRun("error", error=f"repeated-action loop: {verdict.end}")
            else:
                last = harness.last_step_fail and step_num >= self.config.max_steps
                if harness.name == "osworld":
                    feedback, end, note = self._act_osworld(step_num, actions_screen, obs, last)
                    error = error or note
                else:
                    feedback, end = self._act(step_num, actions_screen, obs)
                if verdict is not None and verdict.warn:
                    feedback = f"{feedback}\n{verdict.warn}" if feedback else verdict.warn
                    error = error or "repeated action on an unchanged screen (reported to the model)"
                if feedback and error is None:
                    error = feedback
                if not harness.error_feedback:
                    feedback = None
        t3 = time.perf_counter()
        if step is not None:
            history.add(obs.image, text, feedback)
        record = StepRecord(
            step_num, obs, text, step, actions_model, actions_screen, error,
            {"observe": (t1 - t0) * 1e3, "think": (t2 - t1) * 1e3, "act": (t3 - t2) * 1e3},
            action_ts, attempts, self.policy.last_exchange,
        )
        self.hooks.step_end(record)
        if end is not None:
            raise end

    def _act(self, step_num: int, actions: list[Action], obs: Observation) -> tuple[str | None, _EndRun | None]:
        """Perform the actions in order (tars harness); returns (feedback for the model, end
        of run)."""
        for action in actions:
            if self.guard.stopped:
                return None, _EndRun("stopped")
            if isinstance(action, Finished):
                self._final_action = "DONE"
                return None, _EndRun("finished", action.content, final_action="DONE")
            if isinstance(action, CallUser):
                self._final_action = "FAIL"
                return None, _EndRun("call_user", action.content, final_action="FAIL")
            refusal = self.guard.allow(action)
            if refusal:
                return refusal, None
            self.hooks.before_action(step_num, action, obs.geometry)
            if isinstance(action, Wait):
                self._final_action = "WAIT"
                if self.guard.sleep(min(action.seconds, self.guard.remaining())):
                    return None, _EndRun("stopped")
                continue
            self._final_action = None
            try:
                self.operator.execute(action)
            except OperatorError as exc:
                # fed back to the model on the next step, as UI-TARS agents do with tool errors
                return f"The action {action.to_text()} failed: {exc}", None
            if self.guard.stopped:
                return None, _EndRun("stopped")
        return None, None

    def _sleep_after(self, times: int = 1) -> bool:
        """The harness's fixed sleep after an action (``times`` of it); True when stopped."""
        seconds = self.harness.sleep_after_action * times
        return bool(seconds) and self.guard.sleep(min(seconds, self.guard.remaining()))

    def _act_osworld(self, step_num: int, actions: list[Action], obs: Observation,
                     last: bool) -> tuple[str | None, _EndRun | None, str | None]:
        """One step by OSWorld's rules (uitars15_v1 ``UITARSAgent.predict`` and
        ``DesktopEnv.step``); returns (feedback, end of run, a note for the step record).

        The first ``finished`` / ``wait`` / ``call_user`` of the answer decides the step alone
        (the answer's other actions are dropped, as there); ``call_user`` is a wait while the
        tolerance lasts, then FAIL. Otherwise, on the last allowed step (``last``) nothing is
        performed and the run ends with FAIL; else every action is performed, each followed by
        the fixed sleep. ``wait`` sleeps twice the fixed sleep (``DesktopEnv.step`` on WAIT).
        """
        harness = self.harness
        for action in actions:
            if isinstance(action, Finished):
                self._final_action = "DONE"
                return None, _EndRun("finished", action.content, final_action="DONE"), None
            if isinstance(action, Wait) or (isinstance(action, CallUser)
                                            and harness.call_user_tolerance is not None
                                            and self._call_users < harness.call_user_tolerance):
                note = None
                if isinstance(action, CallUser):
                    self._call_users += 1
                    note = f"call_user {self._call_users} of {harness.call_user_tolerance} tolerated as wait"
                self._final_action = "WAIT"
                self.hooks.before_action(step_num, Wait(), obs.geometry)
                if self._sleep_after(2):
                    return None, _EndRun("stopped"), note
                return None, None, note
            if isinstance(action, CallUser):
                self._final_action = "FAIL"
                return None, _EndRun("call_user", action.content, final_action="FAIL"), None
        if last:
            self._final_action = "FAIL"
            note = "last allowed step: the answer is replaced by FAIL (osworld harness)"
            return None, _EndRun("max_steps", error=f"step limit of {self.config.max_steps} reached",
                                 final_action="FAIL"), note
        note = None
        for action in actions:
            if self.guard.stopped:
                return None, _EndRun("stopped"), note
            refusal = self.guard.allow(action)
            if refusal:
                note = refusal
                continue
            self.hooks.before_action(step_num, action, obs.geometry)
            try:
                self.operator.execute(action)
            except OperatorError as exc:  # OSWorld runs the code and reports nothing back
                note = f"The action {action.to_text()} failed: {exc}"
            if self._sleep_after():
                return None, _EndRun("stopped"), note
        return None, None, note
