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
    assert sorted(data.train_ids + data.val_ids) == sorted(data.targets)
    assert data.features.shape[0] == len(data.dataset.programs)
    assert set(data.features.ravel().tolist()) <= {0.0, 1.0}
