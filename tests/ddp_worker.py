"""Run by tests/test_distributed.py under torchrun: train and save rank 0's weights (and,
beside them, the weights as initialized, so the test can measure how far training moved
them)."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import torch
from safetensors.torch import save_file

from mtl_pipeline.config import ModelConfig, TaskConfig, TrainingConfig, parse_section
from mtl_pipeline.training.distributed_env import env_rank
from mtl_pipeline.training.run import train_phase
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
    initial: dict[str, torch.Tensor] = {}

    def snapshot(architecture: torch.nn.Module) -> None:
        initial.update({k: v.detach().clone() for k, v in architecture.state_dict().items()})

    model, history = train_phase(  # run_training's mtl_all path, with the initial weights
        parse_section(ModelConfig, model_params, "model"),
        parse_section(TrainingConfig, training, "training"),
        {name: parse_section(TaskConfig, tasks[name], f"tasks.{name}") for name in task_data},
        task_data,
        init=snapshot,
    )
    if env_rank() == 0:
        save_file({k: v.contiguous() for k, v in model.architecture.state_dict().items()}, str(out))
        save_file(
            {k: v.contiguous() for k, v in initial.items()},
            str(out.with_name(out.stem + "-init.safetensors")),
        )
        out.with_suffix(".json").write_text(json.dumps([s["losses"] for s in history["steps"]]))


if __name__ == "__main__":
    main()
