"""The ``lora`` architecture: LoRA's defining properties on a tiny BERT."""

from __future__ import annotations

import copy

import pytest
import torch
from mtl_pipeline.errors import ConfigError

from mtl_training_extras.lora import LoraArchitecture, LoraOptions


def test_starts_as_the_pretrained_encoder(build_lora, tiny_encoder, batch):
    """B = 0 at init: before training every task sees exactly the pretrained features."""
    expected = copy.deepcopy(tiny_encoder)(**batch).last_hidden_state
    arch = build_lora("a", "b").eval()
    for task in ("a", "b"):
        out = arch(task, batch)
        torch.testing.assert_close(out.representation, expected)
        assert out.logits.shape == (3, 2)


def test_update_is_alpha_over_r_times_BAx(build_lora, tiny_encoder):
    """h = W x + (alpha/r) B A x, checked by hand on one adapted projection."""
    arch = build_lora("a", rank=2, alpha=6.0)
    query = tiny_encoder.encoder.layer[0].attention.self.query
    adapter = arch.adapters["a"]["encoder__layer__0__attention__self__query"]
    with torch.no_grad():
        adapter.lora_A.copy_(torch.arange(64.0).reshape(2, 32) / 100)
        adapter.lora_B.copy_(torch.ones(32, 2) / 10)
    x = torch.randn(4, 32)
    base = query.weight @ x.T + query.bias[:, None]
    delta = (6.0 / 2) * (adapter.lora_B @ (adapter.lora_A @ x.T))
    arch._active_task = "a"
    torch.testing.assert_close(query(x), (base + delta).T)
    arch._active_task = None
    torch.testing.assert_close(query(x), base.T)  # outside forward(): the plain encoder


def test_adapts_query_and_value_of_every_layer_by_default(build_lora):
    arch = build_lora("a", "b", rank=8)
    assert sorted(arch.report()["lora"]["adapted_modules"]) == [
        f"encoder.layer.{i}.attention.self.{m}" for i in (0, 1) for m in ("query", "value")
    ]
    # 2 layers x 2 projections x r * (in + out) = 4 * 8 * (32 + 32)
    assert arch.report()["lora"]["adapter_parameters_per_task"] == 2048
    head = sum(p.numel() for p in arch.heads["a"].parameters())
    assert sum(p.numel() for p in arch.task_parameters("a")) == 2048 + head


def test_encoder_frozen_and_tasks_isolated(build_lora, tiny_encoder, batch):
    """Task a's loss trains a's adapters and head only; nothing is shared by default."""
    arch = build_lora("a", "b").train()
    assert not any(p.requires_grad for p in tiny_encoder.parameters())
    assert arch.shared_parameters() == []
    arch("a", batch).logits.sum().backward()
    assert all(p.grad is not None for p in arch.task_parameters("a"))
    assert all(p.grad is None for p in arch.task_parameters("b"))
    # B's gradient is non-zero even though B = 0 (A's is zero at init: dL/dA = B^T ...).
    assert any(
        p.grad.abs().sum() > 0 for n, p in arch.adapters["a"].named_parameters() if "lora_B" in n
    )


def test_one_tasks_adapter_leaves_the_other_task_unchanged(build_lora, batch):
    arch = build_lora("a", "b").eval()
    before_b = arch("b", batch).representation
    with torch.no_grad():
        for p in arch.adapters["a"].parameters():
            p.add_(0.5)
    assert not torch.allclose(arch("a", batch).representation, before_b)
    torch.testing.assert_close(arch("b", batch).representation, before_b)


def test_shared_adapter_is_the_shared_parameter_set(build_lora):
    arch = build_lora("a", "b", shared_rank=4)
    shared = {id(p) for p in arch.shared_parameters()}
    assert shared == {id(p) for p in arch.shared_adapters.parameters()}
    assert len(shared) == 2 * 4  # A and B on 4 projections


def test_train_encoder_makes_the_encoder_shared(build_lora, tiny_encoder):
    arch = build_lora("a", train_encoder=True)
    shared = {id(p) for p in arch.shared_parameters()}
    assert {id(p) for p in tiny_encoder.parameters()} <= shared


def test_state_dict_round_trip(build_lora, tiny_encoder, batch):
    """Save/load as MultiTaskModel does: a fresh encoder + architecture, strict load."""
    fresh_encoder = copy.deepcopy(tiny_encoder)
    arch = build_lora("a", "b", shared_rank=2).eval()
    with torch.no_grad():
        for p in arch.adapters.parameters():
            p.normal_()
    expected = arch("b", batch).logits
    again = build_lora("a", "b", encoder=fresh_encoder, shared_rank=2).eval()
    again.load_state_dict(arch.state_dict(), strict=True)
    torch.testing.assert_close(again("b", batch).logits, expected)
    # The encoder's own parameter names are untouched (export stays AutoModel-loadable).
    assert set(arch.export_encoder().state_dict()) == set(fresh_encoder.state_dict())


def test_unknown_target_module_names_the_available_ones(build_lora):
    with pytest.raises(ConfigError, match=r"match no nn\.Linear.*query.*value"):
        build_lora("a", target_modules=["q_proj"])


@pytest.mark.parametrize(
    "options, key",
    [({"rank": 0}, "rank"), ({"alpha": -1}, "alpha"), ({"ranks": 4}, "ranks")],
)
def test_bad_options_fail_naming_the_key(options, key):
    with pytest.raises(ConfigError, match=rf"invalid options for 'lora'.*{key}"):
        LoraArchitecture.parse_options(options, "model.architecture")


def test_defaults_are_the_papers():
    opts = LoraOptions()
    assert (opts.rank, opts.alpha, opts.target_modules) == (8, 16.0, None)
