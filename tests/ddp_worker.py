"""Run by tests/test_distributed.py under torchrun: train and save rank 0's weights."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import torch
from safetensors.torch import save_file

from mtl_pipeline.training.distributed_env import env_rank
from mtl_pipeline.training.run import run_training
from tests.conftest import build_smoke_task_data, tiny_training_params


def main() -> None:
    encoder_dir, loss, batch_size, out = (
        Path(sys.argv[1]),
        sys.argv[2],
        int(sys.argv[3]),
        Path(sys.argv[4]),
    )
    torch.set_num_threads(1)
    tasks, task_data = build_smoke_task_data(encoder_dir)
    tasks = {name: {**cfg, "head": {"dropout": 0.0}} for name, cfg in tasks.items()}
    model_params, training = tiny_training_params(
        encoder_dir,
        loss={"name": loss},
        batch_size=batch_size,
        max_steps=4,
        tasks_per_step=2,
        eval_every=0,
        checkpoint_dir=str(out.parent / f"ckpt-{env_rank()}"),
    )
    model, history = run_training(model_params, training, tasks, task_data)
    if env_rank() == 0:
        save_file({k: v.contiguous() for k, v in model.architecture.state_dict().items()}, str(out))
        out.with_suffix(".json").write_text(json.dumps([s["losses"] for s in history["steps"]]))


if __name__ == "__main__":
    main()
