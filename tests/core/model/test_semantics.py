from astae.core.model.semantics import FEATURE_NAMES, FEATURES_PER_PROBE, behaviour_features


def named(features, probe: int) -> set[str]:
    row = features[probe * FEATURES_PER_PROBE : (probe + 1) * FEATURES_PER_PROBE]
    return {name for name, bit in zip(FEATURE_NAMES, row) if bit}


def test_int_output_features():
    features = behaviour_features([-3, 7], [[[1, -3], 2], [[7], 7]])
    assert named(features, 0) == {"int_negative", "int_odd", "int_small", "in_a0"}
    assert named(features, 1) == {"int_positive", "int_odd", "int_small", "in_a0", "equals_a1"}


def test_list_output_features():
    features = behaviour_features([[1, 2, 3], []], [[[3, 2, 1]], [[5]]])
    assert named(features, 0) == {"list_sorted", "list_same_length", "list_nonnegative"}
    assert named(features, 1) == {"list_empty", "list_sorted", "list_nonnegative"}


def test_error_output_is_only_the_error_bit():
    features = behaviour_features([None], [[[1]]])
    assert named(features, 0) == {"error"}
    assert features.shape == (FEATURES_PER_PROBE,)
