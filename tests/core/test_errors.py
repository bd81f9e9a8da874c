"""Errors that name parameters: core spelling in str(), a front end's own spelling on request."""

from __future__ import annotations

import pytest

from astae.core.config import ConfigError
from astae.core.dataset import DatasetError
from astae.core.errors import NamesParameters, TaskError

FLAG = {"beam": "--beam", "data_dir": "--data_dir", "n": "--n"}.__getitem__


def test_str_names_the_core_parameter_and_spelled_names_the_front_ends():
    error = ConfigError.naming("{beam}: the beam width must be at least 1, not {value}", value=0)
    assert str(error) == "beam: the beam width must be at least 1, not 0"
    assert error.spelled(FLAG) == "--beam: the beam width must be at least 1, not 0"
    assert error.parameters() == ["beam"]


def test_values_are_shown_as_given_never_read_as_templates():
    error = DatasetError.naming("{path}: gone; pass {data_dir}=DIR", path="/tmp/{n}/x")
    assert str(error) == "/tmp/{n}/x: gone; pass data_dir=DIR"
    assert error.spelled(FLAG) == "/tmp/{n}/x: gone; pass --data_dir=DIR"
    assert error.parameters() == ["data_dir"]


def test_not_one_of_lists_the_choices():
    error = ConfigError.not_one_of("split", "test", ("val", "train"))
    assert str(error) == "split: 'test' is not one of val, train"
    assert error.spelled(lambda p: f"--{p}") == "--split: 'test' is not one of val, train"


def test_a_plain_message_is_kept_braces_and_all():
    error = TaskError("expected {a, b}")
    assert error.parameters() == [] and error.spelled(FLAG) == "expected {a, b}"


@pytest.mark.parametrize("kind", [ConfigError, DatasetError, TaskError])
def test_every_user_error_kind_can_name_parameters(kind):
    error = kind.naming("{n} must be at least 1, not {value}", value=-1)
    assert isinstance(error, kind) and isinstance(error, NamesParameters) and isinstance(error, ValueError)
    assert error.spelled(FLAG) == "--n must be at least 1, not -1"
