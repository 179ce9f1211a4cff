"""Every registered architecture: trains, round-trips, partitions its parameters; plus the
property each one is built around (tests/test_architectures.py is the per-architecture
half; a loss x sampler x architecture matrix can reuse ``architecture_spec`` and
``all_task_data``).

Everything runs on the tiny random BERT (2 layers, hidden 32) from conftest.
"""

from __future__ import annotations

import logging
from pathlib import Path

import numpy as np
import pytest
import torch

from mtl_pipeline.errors import ConfigError
from mtl_pipeline.modeling.multitask_model import MultiTaskModel, TaskMeta, build_architecture
from mtl_pipeline.registry import get_registry
from mtl_pipeline.training.batching import TokenizedSplit
from mtl_pipeline.training.run import run_training, task_meta
from tests.conftest import tiny_training_params

ARCHITECTURES = get_registry().names("architecture")


def architecture_spec(name: str, task_names: list[str]) -> dict:
    """``model.architecture`` for ``name`` on the 2-layer test encoder: defaults, except
    options that need the tasks (hierarchical) or that switch optional losses on so that
    the aux-loss paths train too."""
    spec: dict = {"name": name}
    if name == "hierarchical":
        low = "upos" if "upos" in task_names else sorted(task_names)[0]
        spec["task_layers"] = {low: 1}
    elif name == "sluice":
        spec["orthogonality_weight"] = 0.01
    elif name == "mmoe":
        spec["load_balancing_weight"] = 0.01
    return spec


def _metas(tasks: dict, task_data: dict) -> dict[str, TaskMeta]:
    from mtl_pipeline.config import TaskConfig

    return {n: task_meta(n, TaskConfig(**tasks[n]), task_data[n]["label_info"]) for n in task_data}


def _build(name: str, tiny_encoder_dir: Path, tasks: dict, task_data: dict, **options):
    from mtl_pipeline.encoders import load_encoder

    torch.manual_seed(0)
    spec = {**architecture_spec(name, list(task_data)), **options}
    spec.pop("name")
    return build_architecture(
        name, spec, load_encoder(str(tiny_encoder_dir)), _metas(tasks, task_data)
    )


def _batch(task_data: dict, task: str, n: int = 6, pad_id: int = 0) -> dict[str, torch.Tensor]:
    batch = TokenizedSplit.from_dataset(task_data[task]["validation_features"]).collate(
        np.arange(n), pad_id
    )
    batch.pop("labels")
    return batch


# --- every architecture --------------------------------------------------------------
@pytest.mark.parametrize("name", ARCHITECTURES)
def test_trains_then_save_load_predicts_identically(
    name, all_task_data, tiny_encoder_dir, tmp_path
):
    tasks, task_data = all_task_data
    model_params, training = tiny_training_params(tiny_encoder_dir, max_steps=3)
    model_params["architecture"] = architecture_spec(name, list(task_data))
    model, history = run_training(model_params, training, tasks, task_data)
    assert len(history["steps"]) == 3
    assert all(np.isfinite(v) for s in history["steps"] for v in s["losses"].values())
    assert history["architecture_report"]["architecture"] == name

    model.save(tmp_path / "m")
    loaded = MultiTaskModel.load(tmp_path / "m")
    assert type(loaded.architecture) is type(model.architecture)
    texts = ["a gripping, funny film", "dull and far too long"]
    assert model.predict("sst2", texts) == loaded.predict("sst2", texts)
    pairs = [
        ("A man is playing a guitar.", "A man plays guitar."),
        ("A cat sleeps.", "Stocks fell."),
    ]
    np.testing.assert_allclose(
        model.predict("stsb", pairs), loaded.predict("stsb", pairs), rtol=1e-6
    )
    words = [["The", "cat", "sat", "on", "the", "mat", "."], ["Stocks", "fell", "sharply"]]
    assert model.predict("upos", words) == loaded.predict("upos", words)
    for task in ("rte", "upos"):
        batch = _batch(task_data, task)
        with torch.no_grad():
            torch.testing.assert_close(
                model.architecture(task, batch).logits,
                loaded.architecture(task, batch).logits,
                rtol=0,
                atol=1e-6,
            )
    # The exported encoder is a plain Hugging Face model of the original depth.
    from transformers import AutoModel

    exported = AutoModel.from_pretrained(tmp_path / "m" / "encoder")
    assert exported.config.num_hidden_layers == len(exported.encoder.layer) == 2


@pytest.mark.parametrize("name", ARCHITECTURES)
def test_parameter_partition_is_disjoint_and_complete(name, all_task_data, tiny_encoder_dir):
    tasks, task_data = all_task_data
    arch = _build(name, tiny_encoder_dir, tasks, task_data)
    trainable = {id(p) for p in arch.parameters() if p.requires_grad}
    shared = [id(p) for p in arch.shared_parameters()]
    assert len(shared) == len(set(shared))
    seen = set(shared)
    for task in task_data:
        own = {id(p) for p in arch.task_parameters(task) if p.requires_grad}
        assert own, f"{name}: task {task} has no parameters of its own (at least its head)"
        assert not own & seen, f"{name}: task {task}'s parameters overlap shared or another task's"
        seen |= own
    assert seen == trainable
    report = arch.report()
    assert report["trainable_parameters"] == sum(
        p.numel() for p in arch.parameters() if p.requires_grad
    )


@pytest.mark.parametrize("name", ARCHITECTURES)
def test_options_reject_unknown_keys(name):
    cls = get_registry().get("architecture", name)
    with pytest.raises(ConfigError, match="no_such_option"):
        cls.parse_options({"no_such_option": 1}, "model.architecture")


@pytest.mark.parametrize("name", ARCHITECTURES)
def test_forward_backward_under_bf16_autocast(name, all_task_data, tiny_encoder_dir):
    """``precision: auto`` picks bf16 on CPU: mixing weights, gates and penalties must cope."""
    tasks, task_data = all_task_data
    arch = _build(name, tiny_encoder_dir, tasks, task_data).train()
    for task in ("sst2", "upos"):
        batch = _batch(task_data, task)
        with torch.autocast("cpu", dtype=torch.bfloat16):
            out = arch(task, batch)
        loss = out.logits.float().pow(2).mean()
        if out.aux_loss is not None:
            loss = loss + out.aux_loss.float()
        assert torch.isfinite(loss)
        loss.backward()
    assert any(p.grad is not None for p in arch.task_parameters("upos"))


# --- cross-stitch / sluice -----------------------------------------------------------
def test_cross_stitch_identity_init_equals_independent_columns(smoke_task_data, tiny_encoder_dir):
    tasks, task_data = smoke_task_data
    arch = _build(
        "cross_stitch", tiny_encoder_dir, tasks, task_data, init_self=1.0, top_layers=1
    ).eval()
    with torch.no_grad():
        # Make the columns differ, so that any mixing would show.
        for i, column in enumerate(arch.columns.values()):
            for p in column.parameters():
                p.add_(0.05 * (i + 1) * torch.randn_like(p))
        for task in ("sst2", "stsb"):
            batch = _batch(task_data, task)
            adapter = arch.encoder_adapter
            hidden, context = adapter.embed(arch.encoder, batch)
            hidden = adapter.run_layers(arch.encoder.encoder.layer, hidden, context)
            alone = adapter.run_layers(arch.columns[task], hidden, context, start=1)
            expected = arch.heads[task](alone, batch["attention_mask"])
            torch.testing.assert_close(arch(task, batch).logits, expected, rtol=0, atol=1e-6)


@pytest.mark.parametrize("name", ["cross_stitch", "sluice"])
def test_cross_stitch_default_init_equals_hard_sharing(name, smoke_task_data, tiny_encoder_dir):
    """Rows summing to one over identical columns: the untrained model is hard sharing."""
    tasks, task_data = smoke_task_data
    hard = _build("hard_sharing", tiny_encoder_dir, tasks, task_data).eval()
    arch = _build(name, tiny_encoder_dir, tasks, task_data).eval()
    batch = _batch(task_data, "mrpc")
    with torch.no_grad():
        expected = hard.encoder(**batch).last_hidden_state
        states, _ = arch.column_outputs("mrpc", batch)
    torch.testing.assert_close(states[-1], expected, rtol=0, atol=1e-5)


def test_sluice_layer_mixing_and_subspace_penalty(smoke_task_data, tiny_encoder_dir):
    tasks, task_data = smoke_task_data
    arch = _build("sluice", tiny_encoder_dir, tasks, task_data, top_layers=2, subspaces=4)
    assert arch.stitch.shape == (2, 5 * 4, 5 * 4)
    for task in task_data:
        weights = arch.layer_weights(task)
        assert weights.shape == (3,)
        torch.testing.assert_close(weights.sum(), torch.tensor(1.0))
    arch.train()
    out = arch("cola", _batch(task_data, "cola"))
    assert out.aux_loss is not None and out.aux_loss.item() > 0
    out.aux_loss.backward()
    assert arch.columns["cola"][0].output.dense.weight.grad is not None
    assert set(arch.report()["layer_mixing"]) == set(task_data)
    with pytest.raises(ConfigError, match="subspaces"):
        _build("sluice", tiny_encoder_dir, tasks, task_data, subspaces=5)  # 32 % 5 != 0
    with pytest.raises(ConfigError, match="top_layers"):
        _build("cross_stitch", tiny_encoder_dir, tasks, task_data, top_layers=3)


# --- hierarchical --------------------------------------------------------------------
def test_hierarchical_low_task_ignores_layers_above_its_own(all_task_data, tiny_encoder_dir):
    tasks, task_data = all_task_data
    arch = _build(
        "hierarchical", tiny_encoder_dir, tasks, task_data, task_layers={"upos": 1}
    ).eval()
    assert arch.report()["task_layers"]["upos"] == 1 and arch.report()["task_layers"]["sst2"] == 2
    upos_batch, sst2_batch = _batch(task_data, "upos"), _batch(task_data, "sst2")
    with torch.no_grad():
        upos_before = arch("upos", upos_batch).logits.clone()
        sst2_before = arch("sst2", sst2_batch).logits.clone()
        for p in arch.encoder.encoder.layer[1].parameters():  # the layer above upos's
            p.add_(torch.randn_like(p))
        torch.testing.assert_close(arch("upos", upos_batch).logits, upos_before, rtol=0, atol=0)
        assert not torch.allclose(arch("sst2", sst2_batch).logits, sst2_before)
        for p in arch.encoder.encoder.layer[0].parameters():  # upos's own layer does matter
            p.add_(torch.randn_like(p))
        assert not torch.allclose(arch("upos", upos_batch).logits, upos_before)


def test_hierarchical_freezes_unused_layers_and_validates(all_task_data, tiny_encoder_dir):
    tasks, task_data = all_task_data
    arch = _build(
        "hierarchical", tiny_encoder_dir, tasks, task_data, task_layers={t: 1 for t in task_data}
    )
    assert arch.report()["unused_layers"] == [2]
    assert not any(p.requires_grad for p in arch.encoder.encoder.layer[1].parameters())
    arch = _build("hierarchical", tiny_encoder_dir, tasks, task_data, task_layers={"upos": -2})
    assert arch.task_layer["upos"] == 1
    with pytest.raises(ConfigError, match="unknown task 'pos'"):
        _build("hierarchical", tiny_encoder_dir, tasks, task_data, task_layers={"pos": 1})
    # The same check without building anything (for config validation before a run).
    from mtl_pipeline.encoders import load_encoder_config

    cls = get_registry().get("architecture", "hierarchical")
    options = cls.parse_options({"task_layers": {"upos": 7}}, "model.architecture")
    with pytest.raises(ConfigError, match="layer 7 does not exist"):
        cls.check_options(options, list(task_data), load_encoder_config(str(tiny_encoder_dir)))
    for bad in (0, 3, -3):
        with pytest.raises(ConfigError, match="does not exist"):
            _build("hierarchical", tiny_encoder_dir, tasks, task_data, task_layers={"upos": bad})


# --- adapters ------------------------------------------------------------------------
def test_adapters_frozen_encoder_trains_only_adapters_and_heads(smoke_task_data, tiny_encoder_dir):
    tasks, task_data = smoke_task_data
    arch = _build("adapters", tiny_encoder_dir, tasks, task_data)
    names = [n for n, p in arch.named_parameters() if p.requires_grad]
    assert names and all(n.startswith(("adapters.", "heads.")) for n in names)
    assert arch.shared_parameters() == []
    report = arch.report()
    assert report["shared_trainable_parameters"] == 0
    for task in task_data:
        own = sum(p.numel() for p in arch.task_parameters(task))
        assert report["task_trainable_parameters"][task] == own
        assert report["adapter_parameters_per_task"][task] == sum(
            p.numel() for p in arch.adapters[task].parameters()
        )
    # 2 layers x 2 sites x (down 32*2+2, up 2*32+32) with bottleneck 32 // 16 = 2
    assert report["bottleneck"] == 2 and report["adapter_parameters_per_task"]["sst2"] == 4 * (
        66 + 96
    )
    unfrozen = _build(
        "adapters", tiny_encoder_dir, tasks, task_data, freeze_encoder=False, bottleneck=4
    )
    assert unfrozen.report()["shared_trainable_parameters"] == sum(
        p.numel() for p in unfrozen.encoder.parameters()
    )


def test_adapters_route_by_task_and_start_at_identity(smoke_task_data, tiny_encoder_dir):
    tasks, task_data = smoke_task_data
    arch = _build("adapters", tiny_encoder_dir, tasks, task_data, init_std=0.0).eval()
    batch = _batch(task_data, "sst2")
    with torch.no_grad():
        plain = arch.encoder(**batch).last_hidden_state  # hooks inactive outside forward
        torch.testing.assert_close(arch("sst2", batch).representation, plain, rtol=0, atol=1e-6)
        arch.adapters["sst2"][0]["ffn"].up.bias.fill_(1.0)
        changed = arch("sst2", batch).representation
        assert not torch.allclose(changed, plain)
        torch.testing.assert_close(arch("cola", batch).representation, plain, rtol=0, atol=1e-6)
        torch.testing.assert_close(arch.encoder(**batch).last_hidden_state, plain, rtol=0, atol=0)


def test_gradient_mode_trainer_with_nothing_shared(smoke_task_data, tiny_encoder_dir):
    """A gradient-based weighting on a frozen-encoder model: no shared gradient to combine."""
    from mtl_pipeline.config import TrainingConfig
    from mtl_pipeline.losses.base import TaskWeighting
    from mtl_pipeline.samplers.factory import build_sampler
    from mtl_pipeline.training.trainer import Trainer, TrainTask

    class SumGradients(TaskWeighting):
        name = "test_sum_gradients"
        mode = "gradient"

        def combine_gradients(self, grads, losses, step):
            return grads.sum(0)

    tasks, task_data = smoke_task_data
    arch = _build("adapters", tiny_encoder_dir, tasks, task_data)
    metric = get_registry().get("metric", "accuracy")
    train_tasks = {
        n: TrainTask(
            n,
            TokenizedSplit.from_dataset(d["train_features"]),
            TokenizedSplit.from_dataset(d["validation_features"]),
            {"accuracy": metric},
        )
        for n, d in task_data.items()
    }
    cfg = TrainingConfig(
        max_steps=2,
        batch_size=4,
        tasks_per_step=2,
        device="cpu",
        precision="fp32",
        progress_bar=False,
        learning_rate=1e-2,
        warmup_ratio=0.0,
    )
    sampler = build_sampler(cfg, {n: len(t.train) for n, t in train_tasks.items()})
    trainer = Trainer(arch, train_tasks, cfg, SumGradients(list(train_tasks), None), sampler, 0)
    encoder_before = {k: v.clone() for k, v in arch.encoder.state_dict().items()}
    adapters_before = {k: v.clone() for k, v in arch.adapters.state_dict().items()}
    for _ in range(2):
        logs = trainer.train_step()
        trainer.step += 1
        assert not logs.get("skipped")
    assert all(torch.equal(v, arch.encoder.state_dict()[k]) for k, v in encoder_before.items())
    assert any(
        not torch.equal(v, arch.adapters.state_dict()[k]) for k, v in adapters_before.items()
    )


# --- mmoe ----------------------------------------------------------------------------
def test_mmoe_gates_sum_to_one_and_utilization_is_tracked(smoke_task_data, tiny_encoder_dir):
    tasks, task_data = smoke_task_data
    arch = _build("mmoe", tiny_encoder_dir, tasks, task_data, num_experts=3, expert_hidden=8).eval()
    batch = _batch(task_data, "sst2")
    with torch.no_grad():
        hidden = arch.encoder(**batch).last_hidden_state
        arch.gates["sst2"].weight.normal_()
        gates = arch.gate_weights("sst2", hidden, batch["attention_mask"])
        assert gates.shape == (6, 3) and (gates >= 0).all()
        torch.testing.assert_close(gates.sum(-1), torch.ones(6))
        arch("sst2", batch)
        arch("sst2", batch)
    report = arch.report()
    assert report["examples_gated"]["sst2"] == 12 and report["examples_gated"]["cola"] == 0
    assert set(report["expert_utilization"]) == {"sst2"}
    np.testing.assert_allclose(
        report["expert_utilization"]["sst2"], gates.mean(0).tolist(), atol=1e-4
    )
    assert report["collapsed_gates"] == {}
    arch.reset_utilization()
    assert arch.report()["expert_utilization"] == {}


def test_mmoe_flags_a_collapsed_gate(smoke_task_data, tiny_encoder_dir, caplog):
    tasks, task_data = smoke_task_data
    arch = _build(
        "mmoe", tiny_encoder_dir, tasks, task_data, num_experts=4, collapse_threshold=0.8
    ).eval()
    with torch.no_grad():
        arch.gates["cola"].bias.copy_(torch.tensor([0.0, 10.0, 0.0, 0.0]))
        arch("cola", _batch(task_data, "cola"))
        arch("sst2", _batch(task_data, "sst2"))
    with caplog.at_level(logging.WARNING, logger="mtl_pipeline.architectures.mmoe"):
        report = arch.report()
    assert report["collapsed_gates"] == {"cola": 1}
    assert any("'cola' has collapsed onto expert 1" in r.getMessage() for r in caplog.records)


def test_mmoe_load_balancing_loss(smoke_task_data, tiny_encoder_dir):
    tasks, task_data = smoke_task_data
    arch = _build("mmoe", tiny_encoder_dir, tasks, task_data, load_balancing_weight=1.0).train()
    batch = _batch(task_data, "sst2")
    assert arch("sst2", batch).aux_loss.item() == pytest.approx(0.0, abs=1e-6)  # uniform at init
    with torch.no_grad():
        arch.gates["sst2"].bias.copy_(torch.tensor([20.0, 0.0, 0.0, 0.0]))
    assert arch("sst2", batch).aux_loss.item() == pytest.approx(3.0, abs=1e-3)  # num_experts - 1
    assert (
        _build("mmoe", tiny_encoder_dir, tasks, task_data, load_balancing_weight=0.0)
        .train()("sst2", batch)
        .aux_loss
        is None
    )


# --- shared-private ------------------------------------------------------------------
def _no_dropout(module: torch.nn.Module) -> None:
    for m in module.modules():
        if isinstance(m, torch.nn.Dropout):
            m.p = 0.0


def test_gradient_reversal_flips_the_discriminator_gradient(smoke_task_data, tiny_encoder_dir):
    tasks, task_data = smoke_task_data
    arch = _build("shared_private", tiny_encoder_dir, tasks, task_data, reversal_scale=1.0).train()
    _no_dropout(arch)
    batch = _batch(task_data, "rte")
    probe = arch.encoder.encoder.layer[0].attention.self.query.weight

    def grads(reverse: bool) -> tuple[torch.Tensor, torch.Tensor]:
        arch.zero_grad(set_to_none=True)
        shared, _ = arch.features("rte", batch)
        arch.adversarial_loss("rte", shared, batch["attention_mask"], reverse=reverse).backward()
        return probe.grad.clone(), arch.discriminator.weight.grad.clone()

    enc_rev, disc_rev = grads(True)
    enc_plain, disc_plain = grads(False)
    assert enc_plain.abs().sum() > 0
    torch.testing.assert_close(enc_rev, -enc_plain)
    torch.testing.assert_close(disc_rev, disc_plain)  # the discriminator itself still learns
    # The private layers and heads get no adversarial gradient; the discriminator is shared.
    shared_ids = {id(p) for p in arch.shared_parameters()}
    assert all(id(p) in shared_ids for p in arch.discriminator.parameters())


def test_shared_private_aux_losses_and_head_width(smoke_task_data, tiny_encoder_dir):
    tasks, task_data = smoke_task_data
    arch = _build("shared_private", tiny_encoder_dir, tasks, task_data)
    assert arch.heads["sst2"].out.in_features == 64  # concat of shared and private (2 x 32)
    summed = _build("shared_private", tiny_encoder_dir, tasks, task_data, combine="sum")
    assert summed.heads["sst2"].out.in_features == 32
    mask = torch.ones(1, 4, dtype=torch.long)
    eye = torch.eye(4).unsqueeze(0)
    same = arch.orthogonality_loss(eye, eye, mask)
    # Orthogonal in the sense of S^T P = sum_k s_k p_k^T = 0 over the tokens k.
    s_rows = torch.eye(4)[[0, 0, 0, 0]].unsqueeze(0)
    p_rows = (torch.eye(4)[[1, 1, 1, 1]] * torch.tensor([[1.0], [-1.0], [1.0], [-1.0]])).unsqueeze(
        0
    )
    orthogonal = arch.orthogonality_loss(s_rows, p_rows, mask)
    assert same.item() == pytest.approx(0.25) and orthogonal.item() == pytest.approx(0.0)
    arch.train()
    out = arch("sst2", _batch(task_data, "sst2"))
    assert out.aux_loss is not None and out.aux_loss.item() > 0
    arch.eval()
    assert arch("sst2", _batch(task_data, "sst2")).aux_loss is None
