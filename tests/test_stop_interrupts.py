"""Stop while the model is answering: the run ends promptly with status ``stopped``.

A real ``openai`` policy talks to the loopback vLLM-protocol server, which takes 30 s to
answer; ``Agent.stop()`` interrupts the request in flight, and the loop reports the run as
stopped (not as a policy error).
"""

from __future__ import annotations

import threading
import time

from openai_server import SERVED, ChatServer, completion
from PIL import Image

from tars.agent.loop import Agent, AgentConfig
from tars.desktop.dryrun import DryRunOperator
from tars.models.openai_compat import OpenAIPolicy


def test_stop_during_a_slow_answer_ends_the_run_as_stopped():
    server = ChatServer([(200, completion("Thought: done\nAction: finished(content='late')"), 30)])
    try:
        policy = OpenAIPolicy(server.url, model=SERVED, backoff=0.01)
        operator = DryRunOperator(images=[Image.new("RGB", (400, 300), (40, 100, 150))])
        agent = Agent(policy, operator, AgentConfig(settle=False))
        outcome: dict = {}
        runner = threading.Thread(target=lambda: outcome.update(result=agent.run("wait")), daemon=True)
        runner.start()
        deadline = time.monotonic() + 10
        while not server.chats and time.monotonic() < deadline:
            time.sleep(0.01)
        assert server.chats, "the request never reached the server"
        agent.stop()
        runner.join(5.0)  # far less than the server's 30 s
        assert not runner.is_alive(), "the run kept waiting for the model after stop()"
        result = outcome["result"]
        assert result.status == "stopped", result
        assert result.content == ""  # the late answer (finished) was never used
        assert "Interrupted" in (result.error or "")
        assert operator.executed == []  # nothing was acted on
    finally:
        server.close()
