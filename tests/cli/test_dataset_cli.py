import json

import pytest
from typer.testing import CliRunner

from astae.cli.app import app
from astae.core.dataset import PROGRAMS

runner = CliRunner()


def run(*args: str):
    return runner.invoke(app, [str(a) for a in args])


@pytest.mark.slow
def test_build_is_deterministic_across_worker_counts(tmp_path):
    one = run("dataset", "build", "--out", tmp_path / "w1", "--n", 50, "--seed", 3, "--workers", 1)
    two = run("dataset", "build", "--out", tmp_path / "w2", "--n", 50, "--seed", 3, "--workers", 2)
    assert one.exit_code == 0, one.output
    assert two.exit_code == 0, two.output
    assert "dataset written" in one.output
    assert (tmp_path / "w1" / PROGRAMS).read_bytes() == (tmp_path / "w2" / PROGRAMS).read_bytes()
    assert len((tmp_path / "w1" / PROGRAMS).read_text().splitlines()) == 50


def test_build_refuses_to_overwrite_without_force(tmp_path, tiny_dataset):
    result = run("dataset", "build", "--out", tiny_dataset, "--n", 5)
    assert result.exit_code == 2
    assert "--force" in result.output
    assert "Traceback" not in result.output


def test_build_reports_bad_config_with_the_key(tmp_path):
    cfg = tmp_path / "gen.yaml"
    cfg.write_text("max_depth: 3\nmax_dept: 4\nexamples_min: -1\n")
    result = run("dataset", "build", "--out", tmp_path / "d", "--n", 5, "--config", cfg)
    assert result.exit_code == 2
    assert "max_dept: unknown key" in result.output
    assert "examples_min" in result.output
    assert not (tmp_path / "d").exists()


def test_build_reports_invalid_yaml_with_its_line(tmp_path):
    cfg = tmp_path / "gen.yaml"
    cfg.write_text("max_depth: 3\n  bad: [\n")
    result = run("dataset", "build", "--out", tmp_path / "d", "--n", 5, "--config", cfg)
    assert result.exit_code == 2
    assert "invalid YAML" in result.output


def test_build_set_override_is_validated(tmp_path):
    result = run("dataset", "build", "--out", tmp_path / "d", "--n", 5, "--set", "max_depth=0")
    assert result.exit_code == 2
    assert "max_depth" in result.output


def test_import_renames_hand_written_file(tmp_path):
    src = tmp_path / "mine.py"
    src.write_text("def total(numbers: list[int]) -> int:\n    acc = 0\n"
                   "    for n in numbers:\n        acc += n\n    return acc\n")
    result = run("dataset", "import", src, "--out", tmp_path / "d")
    assert result.exit_code == 0, result.output
    record = json.loads((tmp_path / "d" / PROGRAMS).read_text())
    assert record["source"] == (
        "def program(a0: list[int]) -> int:\n    v0 = 0\n    for v1 in a0:\n        v0 += v1\n"
        "    return v0"
    )


def test_import_of_a_program_outside_the_language_exits_2(tmp_path):
    src = tmp_path / "mine.py"
    src.write_text("def f(a: int) -> int:\n    return a.__class__\n")
    result = run("dataset", "import", src, "--out", tmp_path / "d")
    assert result.exit_code == 2
    assert "mine.py:2: dunder attribute access" in result.output
    assert not (tmp_path / "d").exists()


def test_import_of_a_missing_file_exits_2(tmp_path):
    result = run("dataset", "import", tmp_path / "nope.py", "--out", tmp_path / "d")
    assert result.exit_code == 2
    assert "file not found" in result.output


def test_inspect_dataset_renders(tiny_dataset):
    result = run("inspect", "dataset", tiny_dataset)
    assert result.exit_code == 0, result.output
    assert "signatures" in result.output
    assert "most frequent productions" in result.output
    assert "50" in result.output


def test_inspect_program_renders(tiny_dataset):
    result = run("inspect", "program", tiny_dataset, 0)
    assert result.exit_code == 0, result.output
    for part in ("def program", "typed AST", "graph nodes by type", "use_def", "action sequence",
                 "examples"):
        assert part in result.output


def test_inspect_program_with_a_bad_id_exits_2(tiny_dataset):
    result = run("inspect", "program", tiny_dataset, 999)
    assert result.exit_code == 2
    assert "no program 999" in result.output


def test_inspect_missing_dataset_exits_2(tmp_path):
    result = run("inspect", "dataset", tmp_path / "missing")
    assert result.exit_code == 2
    assert "no such dataset directory" in result.output


def test_inspect_grammar_lists_nonterminals():
    result = run("inspect", "grammar")
    assert result.exit_code == 0
    for part in ("Program", "Stmt:int", "comprehension", "Use:int"):
        assert part in result.output


def test_help_lists_command_groups():
    result = run("--help")
    assert result.exit_code == 0
    for part in ("dataset", "inspect", "quickstart"):
        assert part in result.output


def test_build_that_fails_midway_leaves_no_dataset(tmp_path, monkeypatch):
    import astae.core.dataset_build as dataset_module

    def fail(*args, **kwargs):
        raise OSError("disk full (simulated)")

    monkeypatch.setattr(dataset_module, "patch_counts", fail)
    result = run("dataset", "build", "--out", tmp_path / "d", "--n", 10)
    assert result.exit_code != 0
    assert list(tmp_path.iterdir()) == []


def test_python_dash_m_astae_runs_the_cli():
    import subprocess
    import sys

    proc = subprocess.run(
        [sys.executable, "-m", "astae", "--help"], capture_output=True, text=True, timeout=60
    )
    assert proc.returncode == 0
    assert "dataset" in proc.stdout and "inspect" in proc.stdout


@pytest.mark.parametrize("spec, message", [
    ("3/3", "--shard 3/3: the shard index must be 0..2"),
    ("0/0", "--shard 0/0: the number of shards must be at least 1"),
    ("x", "--shard x: expected I/N"),
])
def test_build_with_a_bad_shard_spec_exits_2(tmp_path, spec, message):
    result = run("dataset", "build", "--out", tmp_path / "d", "--n", 5, "--shard", spec)
    assert result.exit_code == 2
    assert message in result.output
    assert list(tmp_path.iterdir()) == []


def test_margin_without_shard_exits_2(tmp_path):
    result = run("dataset", "build", "--out", tmp_path / "d", "--n", 5, "--margin", 1.5)
    assert result.exit_code == 2
    assert "--margin applies only with --shard" in result.output


def test_sharded_build_merged_equals_a_single_build(tmp_path):
    common = ("--n", 40, "--seed", 5, "--set", "chunk_size=32")
    single = run("dataset", "build", "--out", tmp_path / "single", *common)
    assert single.exit_code == 0, single.output
    for i in (0, 1):
        shard = run("dataset", "build", "--out", tmp_path / f"s{i}", *common, "--shard", f"{i}/2")
        assert shard.exit_code == 0, shard.output
        assert "shard written" in shard.output and "dataset merge" in shard.output
    merged = run("dataset", "merge", tmp_path / "s1", tmp_path / "s0", "--out", tmp_path / "merged")
    assert merged.exit_code == 0, merged.output
    assert "dataset written" in merged.output and "from 2 shards" in merged.output
    for name in (PROGRAMS, "manifest.json"):
        assert (tmp_path / "single" / name).read_bytes() == (tmp_path / "merged" / name).read_bytes()


def test_merge_of_shards_of_different_seeds_exits_2(tmp_path):
    from astae.core.shards import build_shard
    from tests.conftest import TINY

    build_shard(tmp_path / "a", 2, 0, (0, 2), TINY)
    build_shard(tmp_path / "b", 2, 1, (1, 2), TINY)
    result = run("dataset", "merge", tmp_path / "a", tmp_path / "b", "--out", tmp_path / "merged")
    assert result.exit_code == 2
    assert "different seeds (0 and 1)" in result.output
    assert "Traceback" not in result.output
    assert not (tmp_path / "merged").exists()
