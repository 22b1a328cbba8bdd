"""``tars finetune``: LoRA adapters tuned on a user's own demonstrations and successful runs.

* :mod:`tars.agent.finetune.data` finds the trajectories in the DATA folders;
* :mod:`tars.agent.finetune.samples` turns each step into one training sample with the code
  that builds the inference request (history, prompt template, image budget, chat template);
* :mod:`tars.agent.finetune.train` runs the LoRA training loop and writes the adapter folder;
* :mod:`tars.models.adapters` is the tars part of an adapter folder
  (``tars_adapter.json``) and the base-model check ``tars run --adapter`` makes.

Nothing here is imported by ``tars`` itself; torch, transformers and peft load on first use.
"""
