"""Behaviour features: what a program *does* on its signature's fixed probe inputs, as 0/1 targets.

The semantic head of the autoencoder predicts these from z (DESIGN §4), so programs that behave
alike are pulled together in latent space. Each probe contributes `FEATURES_PER_PROBE` bits:
error, output type, sign and parity of an int output, length and order patterns of a list output,
and agreement of the output with each argument. Pure Python and NumPy.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from astae.core.grammar import MAX_PARAMS

FEATURE_NAMES: tuple[str, ...] = (
    "error",
    "int_negative", "int_zero", "int_positive", "int_odd", "int_small",
    "list_empty", "list_sorted", "list_same_length", "list_nonnegative", "list_longer",
    *(f"equals_a{j}" for j in range(MAX_PARAMS)),
    *(f"in_a{j}" for j in range(MAX_PARAMS)),
)  # fmt: skip
FEATURES_PER_PROBE = len(FEATURE_NAMES)


def _probe_features(output: object, args: Sequence[object]) -> list[float]:
    f = dict.fromkeys(FEATURE_NAMES, 0.0)
    if output is None:
        f["error"] = 1.0
        return list(f.values())
    lists = [a for a in args if isinstance(a, list)]
    if isinstance(output, list):
        f["list_empty"] = float(not output)
        f["list_sorted"] = float(all(x <= y for x, y in zip(output, output[1:])))
        f["list_same_length"] = float(any(len(a) == len(output) for a in lists))
        f["list_nonnegative"] = float(all(x >= 0 for x in output))
        f["list_longer"] = float(any(len(output) > len(a) for a in lists))
    else:
        f["int_negative"] = float(output < 0)
        f["int_zero"] = float(output == 0)
        f["int_positive"] = float(output > 0)
        f["int_odd"] = float(output % 2 == 1)
        f["int_small"] = float(abs(output) <= 10)
    for j, arg in enumerate(args[:MAX_PARAMS]):
        f[f"equals_a{j}"] = float(output == arg)
        if isinstance(arg, list) and not isinstance(output, list):
            f[f"in_a{j}"] = float(output in arg)
    return list(f.values())


def behaviour_features(
    probe_outputs: Sequence[object], probe_inputs: Sequence[Sequence[object]]
) -> np.ndarray:
    """float32 [len(probes) * FEATURES_PER_PROBE] 0/1 features of a program's probe outputs."""
    rows = [_probe_features(out, args) for out, args in zip(probe_outputs, probe_inputs)]
    return np.asarray(rows, dtype=np.float32).reshape(-1)
