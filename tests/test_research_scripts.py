"""benchmarks/tag_vs_grid.py and benchmarks/size_heuristic.py on hand-made inputs."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]


def _load(name: str):
    spec = importlib.util.spec_from_file_location(name, REPO / "benchmarks" / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="module")
def tag():
    return _load("tag_vs_grid")


@pytest.fixture(scope="module")
def size():
    return _load("size_heuristic")


def test_tag_predicts_a_target_gain_from_the_supports_row(tag):
    # Z[i][j]: a step on i lowers j's loss. gain[(target, support)] must be compared with
    # Z[support][target]; the transposed reading ranks these pairs in the opposite order.
    tasks = ["a", "b", "c", "d"]
    pairs = [(t, s) for t in tasks for s in tasks if t != s]
    order = {pair: rank for rank, pair in enumerate(pairs, 1)}
    z = {i: {j: 0.0 for j in tasks} for i in tasks}
    for (target, support), rank in order.items():
        z[support][target] = float(rank)
    gains = {pair: 0.01 * rank for pair, rank in order.items()}
    result = tag.correlations(z, gains)
    assert result["ordered"] == pytest.approx(1.0)
    assert result["within_target"] == pytest.approx(1.0)
    assert result["n_ordered"] == 12 and result["n_symmetric"] == 6


def test_tag_reads_both_grid_layouts(tag, tmp_path):
    wide = tmp_path / "wide.csv"
    wide.write_text(
        "target,support,single_task,pairwise,stilts\na,b,0.5,0.6,0.4\nb,a,0.7,0.6,0.7\n"
    )
    assert tag.load_grid_gains(wide) == pytest.approx({("a", "b"): 0.1, ("b", "a"): -0.1})
    matrix = tmp_path / "affinity.csv"
    matrix.write_text("strategy,target,a,b\npairwise,a,,0.1\npairwise,b,-0.1,\nstilts,a,,0.3\n")
    assert tag.load_grid_gains(matrix) == pytest.approx({("a", "b"): 0.1, ("b", "a"): -0.1})


def test_size_heuristic_counts_only_pairs_with_a_prediction_and_a_winner(size, tmp_path):
    scores = tmp_path / "scores.csv"
    rows = ["target,strategy,support,seed,score,higher_is_better,n_train_target,n_train_support"]
    # small <- big: pairwise predicted. Seed means: pairwise wins (agrees).
    rows += ["s,pairwise,b,0,0.7,True,10,20", "s,stilts,b,0,0.6,True,10,20"]
    rows += ["s,pairwise,b,1,0.5,True,10,20", "s,stilts,b,1,0.55,True,10,20"]
    # big <- small: STILTs predicted. Pairwise wins on both seeds (disagrees).
    rows += ["b,pairwise,s,0,0.9,True,20,10", "b,stilts,s,0,0.8,True,20,10"]
    rows += ["b,pairwise,s,1,0.9,True,20,10", "b,stilts,s,1,0.8,True,20,10"]
    # small <- big, lower is better: pairwise lower on both seeds (agrees, stable).
    rows += ["s,pairwise,c,0,0.2,False,10,30", "s,stilts,c,0,0.3,False,10,30"]
    rows += ["s,pairwise,c,1,0.1,False,10,30", "s,stilts,c,1,0.3,False,10,30"]
    # equal sizes: no prediction, not applicable.
    rows += ["b,pairwise,e,0,0.9,True,20,20", "b,stilts,e,0,0.8,True,20,20"]
    scores.write_text("\n".join(rows) + "\n")
    result = size.analyse(size.load_cells(scores), boot=200)
    assert (result["agreed"], result["applicable"]) == (2, 3)
    assert result["per_seed"] == pytest.approx({0: 2 / 3, 1: 1 / 3})
    assert result["size_ties"] == ["b<-e"]
    # Pairwise wins on the seed mean in all three applicable pairs.
    assert result["always_pairwise"] == pytest.approx(1.0)
    assert result["versus_always_pairwise"]["difference"] == pytest.approx(2 / 3 - 1)
    # s<-b changes winner between seeds; b<-s (disagrees) and s<-c (agrees) do not.
    assert result["stable"] == {"pairs": 2, "agreed": 1}
    detail = {d["pair"]: d for d in result["detail"]}
    assert detail["s<-b"]["winners"] == ["pairwise", "stilts"]
    assert detail["s<-c"]["gap_mean"] == pytest.approx(0.15)
    assert detail["b<-s"]["gap_mean"] == pytest.approx(0.1)
    table = size.markdown(result).splitlines()
    assert len(table) == 2 + 4
    assert "| s <- b | 10 / 20 | pairwise | pairwise, stilts | +0.025 ± 0.106 | yes |" in table
    lo, hi = result["wilson"]
    assert lo < 0.5 < hi


def test_size_heuristic_joins_seed_runs_and_refuses_a_seed_twice(size, tmp_path):
    header = "target,strategy,support,seed,score,higher_is_better,n_train_target,n_train_support"
    seed0, seed1, again = (tmp_path / f"{n}.csv" for n in ("seed0", "seed1", "again"))
    # small <- big: pairwise predicted; pairwise wins at seed 0, STILTs at seed 1.
    seed0.write_text(f"{header}\ns,pairwise,b,0,0.7,True,10,20\ns,stilts,b,0,0.6,True,10,20\n")
    seed1.write_text(f"{header}\ns,pairwise,b,1,0.5,True,10,20\ns,stilts,b,1,0.65,True,10,20\n")
    result = size.analyse(size.load_cells(seed0, seed1), boot=50)
    assert result["seeds"] == [0, 1] and result["per_seed"] == {0: 1.0, 1: 0.0}
    again.write_text(seed1.read_text())
    with pytest.raises(SystemExit, match=r"again\.csv and .*seed1\.csv: both hold .* seed 1"):
        size.load_cells(seed0, seed1, again)


def test_wilson_interval_matches_a_worked_value(size):
    # 8 of 13: the Wilson 95% interval is [0.355, 0.823].
    assert size.wilson(8, 13) == pytest.approx([0.3552, 0.8229], abs=1e-3)
