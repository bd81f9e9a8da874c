import tempfile
import tracemalloc
from array import array
from pathlib import Path

import numpy as np
import pytest

from astae.core.training_data import (
    TEST,
    TRAIN,
    VALIDATION,
    ProgramCache,
    TrainingData,
    assign_split,
    epoch_batches,
    is_validation,
    prepare_data,
    split_ids,
    split_of,
    split_side,
)
from tests.core.test_records import replicated


def test_a_program_is_always_on_the_same_side_whatever_the_order():
    programs = [{"id": i, "source": f"def program(a0: int) -> int:\n    return a0 + {i}"} for i in range(200)]
    train, val = split_ids(programs, seed=3, val_fraction=0.2)
    reordered = [{**p, "id": 199 - p["id"]} for p in reversed(programs)]
    train2, val2 = split_ids(reordered, seed=3, val_fraction=0.2)
    assert {programs[i]["source"] for i in val} == {reordered[i]["source"] for i in val2}
    assert 20 <= len(val) <= 60 and len(train) + len(val) == 200


def test_the_split_depends_on_the_seed():
    sources = [f"s{i}" for i in range(200)]
    assert [is_validation(s, 1, 0.2) for s in sources] != [is_validation(s, 2, 0.2) for s in sources]


def test_a_test_split_takes_from_training_only_and_leaves_validation_as_it_was():
    sources = [f"def program(a0: int) -> int:\n    return a0 + {i}" for i in range(2000)]
    before = [split_side(s, 5, 0.2) for s in sources]
    after = [split_side(s, 5, 0.2, 0.1) for s in sources]
    assert [b == VALIDATION for b in before] == [a == VALIDATION for a in after]
    assert all(b == TRAIN for b, a in zip(before, after) if a == TEST)
    assert 150 <= after.count(TEST) <= 250 and before.count(TEST) == 0


def test_prepared_data_with_a_test_fraction_holds_three_disjoint_sides(tiny_dataset, tiny_training_data):
    data = prepare_data(tiny_dataset, 100, 0, 0.2, test_fraction=0.3)
    train, val, test = (set(split_of(data, s)) for s in ("train", "val", "test"))
    assert test and not (train & test) and not (val & test) and not (train & val)
    assert sorted(train | val | test) == split_of(data, "all") == list(range(len(data.dataset.programs)))
    assert val == set(tiny_training_data.val_ids.tolist())
    assert split_of(tiny_training_data, "test") == []


def test_neither_side_is_left_empty():
    programs = [{"id": 0, "source": "a"}, {"id": 1, "source": "b"}]
    train, val = split_ids(programs, seed=0, val_fraction=0.01)
    assert len(train) == 1 and len(val) == 1


def test_prepared_data_has_targets_and_features_for_every_program(tiny_training_data):
    data = tiny_training_data
    ids = sorted([*data.train_ids.tolist(), *data.val_ids.tolist()])
    assert ids == list(range(len(data.dataset.programs)))  # no tiny program is over the budget
    for i in ids:
        record = data.dataset.programs[i]
        assert record["id"] == i
        assert data.targets[i].actions.tolist() == record["actions"]
        assert data.features[i].shape == (data.num_features,)
        assert set(data.features[i].tolist()) <= {0.0, 1.0}
    assert data.lengths.tolist() == [len(p["actions"]) for p in data.dataset.programs]


def test_a_small_cache_recomputes_the_same_targets_and_features(tiny_dataset, tiny_training_data):
    small = prepare_data(tiny_dataset, 100, 0, 0.2, cache_programs=3)
    assert len(small.targets.cache.entries) == 3
    for i in list(range(50)) + [0, 1, 2]:
        assert small.targets[i].actions.tolist() == tiny_training_data.targets[i].actions.tolist()
        assert small.features[i].tolist() == tiny_training_data.features[i].tolist()
        assert len(small.targets.cache.entries) <= 3
    assert small.train_ids.tolist() == tiny_training_data.train_ids.tolist()
    assert small.val_ids.tolist() == tiny_training_data.val_ids.tolist()


def test_records_are_read_on_demand_and_equal_the_loaded_ones(tiny_dataset, tiny_training_data):
    from astae.core.dataset import load_dataset

    loaded = load_dataset(tiny_dataset).programs
    lazy = tiny_training_data.dataset.programs
    assert len(lazy) == len(loaded)
    assert list(lazy) == loaded
    assert [lazy[i] for i in (49, 0, 17, -1)] == [loaded[i] for i in (49, 0, 17, -1)]
    assert lazy[3:6] == loaded[3:6]


def test_the_split_is_arrays_not_lists(tiny_training_data):
    data = tiny_training_data
    for ids in (data.train_ids, data.val_ids):
        assert isinstance(ids, np.ndarray) and ids.dtype == np.int64
        assert (np.diff(ids) > 0).all()  # ascending
    assert data.lengths.dtype == np.int32
    train, val, test = assign_split(array("q", [4, 5, 6]), array("b", [0, 0, 0]))
    assert (train.tolist(), val.tolist(), test.tolist()) == ([4, 5], [6], [])
    train, val, test = assign_split(array("q", [4, 5, 6, 7]), array("b", [0, 2, 1, 2]))
    assert (train.tolist(), val.tolist(), test.tolist()) == ([4], [6], [5, 7])


def reference_batches(data, batch_size, rng, pool_batches=32):
    """epoch_batches as lists of lists: what it must keep returning, batch for batch."""
    order = rng.permutation(data.train_ids.tolist()).tolist()
    pool = batch_size * pool_batches
    out = []
    for start in range(0, len(order), pool):
        chunk = sorted(order[start : start + pool], key=lambda i: int(data.lengths[i]))
        out.extend(chunk[i : i + batch_size] for i in range(0, len(chunk), batch_size))
    return [out[k] for k in rng.permutation(len(out))]


def synthetic(n: int, seed: int = 0) -> TrainingData:
    rng = np.random.default_rng(seed)
    return TrainingData(None, None, None, None, np.arange(n, dtype=np.int64), np.empty(0, np.int64), 0,
                        rng.integers(5, 90, n).astype(np.int32))


@pytest.mark.parametrize("n", [1, 7, 64, 1000, 5000])
def test_epoch_batches_are_the_length_sorted_pools_shuffled(n):
    data = synthetic(n)
    got = epoch_batches(data, 16, np.random.default_rng([42, 3]), pool_batches=4)
    want = reference_batches(data, 16, np.random.default_rng([42, 3]), pool_batches=4)
    assert len(got) == len(want) and list(got) == want
    assert all(type(i) is int for i in got[0])  # plain ints (they go into JSON dumps)


def test_epoch_batches_hold_8_bytes_a_program():
    def retained(n: int) -> int:
        data = synthetic(n)
        tracemalloc.start()
        before = tracemalloc.get_traced_memory()[0]
        chunks = epoch_batches(data, 64, np.random.default_rng(0))
        kept = tracemalloc.get_traced_memory()[0] - before
        tracemalloc.stop()
        assert len(chunks) == -(-n // 64)
        return kept

    assert (retained(100_000) - retained(10_000)) / 90_000 < 10  # a list of lists: 40 or more


def test_prepared_data_grows_by_a_few_bytes_a_program(tiny_dataset, tmp_path):
    """Ten times the programs: what prepare_data keeps grows by the arrays' bytes (offsets, lengths,
    split ids: 20 a program; with the replicated shard list, 28), not by lists of Python objects
    (over 100 a program before)."""
    def retained(copies: int) -> tuple[int, TrainingData]:
        path = replicated(tiny_dataset, Path(tempfile.mkdtemp(dir=tmp_path)) / "data", copies)
        tracemalloc.start()
        before = tracemalloc.get_traced_memory()[0]
        data = prepare_data(path, 100, 0, 0.2, cache_programs=1)
        kept = tracemalloc.get_traced_memory()[0] - before
        tracemalloc.stop()
        return kept, data

    retained(40)  # fills the process-wide memo tables (the grammar's legal actions) first
    small, data_small = retained(4)
    large, data_large = retained(40)
    extra = len(data_large.dataset.programs) - len(data_small.dataset.programs)
    assert (large - small) / extra < 40


def test_a_cached_program_takes_about_a_kilobyte(tiny_training_data):
    """The cache holds up to `cache_programs` (20,000) programs, so its entries set how far training
    memory grows before it is flat: compact targets and packed features, not int64 rows and float32
    features (about 4 KB a program before)."""
    data = tiny_training_data
    records = list(data.dataset.programs)
    cache = ProgramCache(data.dataset, 100, capacity=len(records))
    cache.keep(-1, cache.compute(records[0]))  # one-time allocations (interned ints, caches)
    tracemalloc.start()
    before = tracemalloc.get_traced_memory()[0]
    for record in records:
        cache.keep(record["id"], cache.compute(record))
    per_program = (tracemalloc.get_traced_memory()[0] - before) / len(records)
    tracemalloc.stop()
    steps = float(data.lengths.mean())
    assert per_program < 800 + 45 * steps  # ~800 B of objects; 8 B of targets and 19 of packed mask a step


def test_the_cache_keeps_the_first_programs_and_never_replaces_them(tiny_dataset, tiny_training_data):
    """Replacing entries at every step scatters them over the heap: a full cache only recomputes."""
    small = prepare_data(tiny_dataset, 100, 0, 0.2, cache_programs=5)
    before = dict(small.targets.cache.entries)
    assert list(before) == [0, 1, 2, 3, 4]  # the first five prepare_data computed
    for i in range(49, -1, -1):
        assert small.targets[i].actions.tolist() == tiny_training_data.targets[i].actions.tolist()
        assert small.features[i].tolist() == tiny_training_data.features[i].tolist()
    assert small.targets.cache.entries.keys() == before.keys()
    assert all(small.targets.cache.entries[i] is entry for i, entry in before.items())
