"""The ``famo`` loss: hand-computed weights and logit updates, and the reference algorithm."""

from __future__ import annotations

import pytest
import torch
import torch.nn.functional as F
from mtl_pipeline.errors import TrainingError

from mtl_training_extras.famo import Famo


def famo(tasks=("a", "b"), **options) -> Famo:
    return Famo(list(tasks), Famo.parse_options(options, "training.loss"))


def leaf_losses(**values: float) -> dict[str, torch.Tensor]:
    return {t: torch.tensor(v, requires_grad=True) for t, v in values.items()}


def test_weights_and_gradient_by_hand():
    """w = 0: z = (1/2, 1/2); losses (1, 4): D = (1, 4), c = 1/2 + 1/8 = 0.625,
    weights z_i / (c D_i) = (0.8, 0.2); the backpropagated loss is 0.8 * 1 + 0.2 * 4."""
    weighting = famo()
    losses = leaf_losses(a=1.0, b=4.0)
    combined = weighting.combine_losses(losses, step=0)
    assert combined.item() == pytest.approx(1.6, rel=1e-6)
    combined.backward()
    assert losses["a"].grad.item() == pytest.approx(0.8, rel=1e-6)
    assert losses["b"].grad.item() == pytest.approx(0.2, rel=1e-6)
    assert weighting.last_weights() == pytest.approx({"a": 0.8, "b": 0.2})


def test_gradient_equals_the_papers_objective():
    """d/dL of the paper's sum_i z_i log(D_i) / c (c constant) equals our weights."""
    weighting = famo(("a", "b", "c"))
    weighting.logits.copy_(torch.tensor([0.3, -0.2, 0.1]))
    values = {"a": 0.7, "b": 2.5, "c": 1.1}
    ours = leaf_losses(**values)
    weighting.combine_losses(ours, step=0).backward()
    theirs = leaf_losses(**values)
    stacked = torch.stack(list(theirs.values()))
    z = torch.softmax(torch.tensor([0.3, -0.2, 0.1]), 0)
    d = stacked + 1e-8
    c = (z / d).sum().detach()
    (torch.log(d) * z / c).sum().backward()
    for t in values:
        assert ours[t].grad.item() == pytest.approx(theirs[t].grad.item(), rel=1e-5)


def test_logits_move_against_the_faster_improving_task():
    """prev (1, 4) -> now (0.5, 4): delta = (log 2, 0); grad = J^T delta = (+0.1733, -0.1733);
    Adam's first step moves each logit by w_lr against its gradient's sign."""
    weighting = famo(w_lr=0.025, gamma=0.0)
    weighting.combine_losses(leaf_losses(a=1.0, b=4.0), step=0)
    weighting.combine_losses(leaf_losses(a=0.5, b=4.0), step=1)
    torch.testing.assert_close(weighting.logits, torch.tensor([-0.025, 0.025]), atol=1e-6, rtol=0)
    z = weighting.task_logit_weights()
    assert z["a"] < 0.5 < z["b"]


def reference_famo_logits(loss_sequence, n, w_lr=0.025, gamma=0.01):
    """The authors' FAMO update (github.com/Cranial-XIX/FAMO), verbatim in substance:
    torch Adam with weight decay on w; delta = log(prev) - log(curr)."""
    w = torch.zeros(n, requires_grad=True)
    opt = torch.optim.Adam([w], lr=w_lr, weight_decay=gamma)
    prev = None
    for losses in loss_sequence:
        curr = torch.tensor(losses)
        if prev is not None:
            delta = (prev + 1e-8).log() - (curr + 1e-8).log()
            with torch.enable_grad():
                d = torch.autograd.grad(F.softmax(w, -1), w, grad_outputs=delta.detach())[0]
            opt.zero_grad()
            w.grad = d
            opt.step()
        prev = curr
    return w.detach()


def test_matches_the_reference_update_when_every_task_is_in_every_step():
    torch.manual_seed(0)
    sequence = (torch.rand(12, 3) * 2 + 0.1).tolist()
    weighting = famo(("a", "b", "c"))
    for step, values in enumerate(sequence):
        weighting.combine_losses(leaf_losses(**dict(zip("abc", values, strict=True))), step)
    expected = reference_famo_logits(sequence, 3)
    torch.testing.assert_close(weighting.logits, expected, atol=1e-5, rtol=1e-4)


def test_gradient_accumulation_updates_once_per_step():
    weighting = famo()
    weighting.combine_losses(leaf_losses(a=1.0, b=4.0), step=0)
    weighting.combine_losses(leaf_losses(a=3.0, b=4.0), step=0)  # 2nd micro-batch: mean 2.0
    assert int(weighting.adam_t) == 0
    weighting.combine_losses(leaf_losses(a=1.0, b=4.0), step=1)
    weighting.combine_losses(leaf_losses(a=1.0, b=4.0), step=1)
    assert int(weighting.adam_t) == 1
    # a fell from 2.0 (mean of step 0) to 1.0: its logit went down.
    assert weighting.logits[0] < 0 < weighting.logits[1]


def test_subset_steps_and_single_task_steps():
    """tasks_per_step < K: only the step's tasks are weighted; one task has weight 1."""
    weighting = famo(("a", "b", "c"))
    losses = leaf_losses(b=2.0)
    weighting.combine_losses(losses, step=0).backward()
    assert losses["b"].grad.item() == pytest.approx(1.0)
    assert weighting.last_weights() == {"b": pytest.approx(1.0)}


def test_checkpoint_round_trip_continues_identically():
    first = famo()
    for step, (a, b) in enumerate([(1.0, 4.0), (0.7, 3.9), (0.6, 3.0)]):
        first.combine_losses(leaf_losses(a=a, b=b), step)
    second = famo()
    second.load_state_dict(first.state_dict())
    second.load_extra_state(first.extra_state())
    for w in (first, second):
        w.combine_losses(leaf_losses(a=0.5, b=2.0), step=3)
    torch.testing.assert_close(first.logits, second.logits)
    assert first.last_weights() == second.last_weights()


def test_non_finite_losses_do_not_poison_the_logits():
    weighting = famo()
    weighting.combine_losses(leaf_losses(a=1.0, b=4.0), step=0)
    weighting.combine_losses(leaf_losses(a=float("nan"), b=4.0), step=1)
    weighting.combine_losses(leaf_losses(a=1.0, b=3.0), step=2)
    assert torch.isfinite(weighting.logits).all()


def test_negative_losses_are_refused():
    with pytest.raises(TrainingError, match="non-negative"):
        famo().combine_losses(leaf_losses(a=-1.0, b=1.0), step=0)


def test_no_trainable_parameters():
    """The logits are trained by FAMO's own rule, never by the model's optimizer."""
    assert list(famo().parameters()) == []
