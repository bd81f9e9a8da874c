from astae.core.training_data import is_validation, split_ids


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


def test_neither_side_is_left_empty():
    programs = [{"id": 0, "source": "a"}, {"id": 1, "source": "b"}]
    train, val = split_ids(programs, seed=0, val_fraction=0.01)
    assert len(train) == 1 and len(val) == 1


def test_prepared_data_has_targets_and_features_for_every_program(tiny_training_data):
    data = tiny_training_data
    ids = sorted(data.train_ids + data.val_ids)
    assert ids == list(range(len(data.dataset.programs)))  # no tiny program is over the budget
    for i in ids:
        record = data.dataset.programs[i]
        assert record["id"] == i
        assert data.targets[i].actions.tolist() == record["actions"]
        assert data.features[i].shape == (data.num_features,)
        assert set(data.features[i].tolist()) <= {0.0, 1.0}
    assert data.lengths.tolist() == [len(p["actions"]) for p in data.dataset.programs]


def test_a_small_cache_recomputes_the_same_targets_and_features(tiny_dataset, tiny_training_data):
    from astae.core.training_data import prepare_data

    small = prepare_data(tiny_dataset, 100, 0, 0.2, cache_programs=3)
    assert len(small.targets.cache.entries) == 3
    for i in list(range(50)) + [0, 1, 2]:
        assert small.targets[i].actions.tolist() == tiny_training_data.targets[i].actions.tolist()
        assert small.features[i].tolist() == tiny_training_data.features[i].tolist()
        assert len(small.targets.cache.entries) <= 3
    assert (small.train_ids, small.val_ids) == (tiny_training_data.train_ids, tiny_training_data.val_ids)


def test_records_are_read_on_demand_and_equal_the_loaded_ones(tiny_dataset, tiny_training_data):
    from astae.core.dataset import load_dataset

    loaded = load_dataset(tiny_dataset).programs
    lazy = tiny_training_data.dataset.programs
    assert len(lazy) == len(loaded)
    assert list(lazy) == loaded
    assert [lazy[i] for i in (49, 0, 17, -1)] == [loaded[i] for i in (49, 0, 17, -1)]
    assert lazy[3:6] == loaded[3:6]
