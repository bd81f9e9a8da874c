"""The bad-input matrix (issue 5): every command, every kind of bad input a user can give it.

Each case builds one bad input in the test's directory from the session's tiny dataset and run,
runs the command, and checks the contract of docs/reliability.md: exit code 2, one `error:` line
that names what is wrong and where (the path, `file:line` or the config key), no traceback, and
nothing written or overwritten (the test directory, the dataset and the run are snapshotted, bytes
included, before and after; the files a command would write on success are pre-existing copies
with old bytes, or must not appear).
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import pytest
import torch
from typer.testing import CliRunner

from astae.cli.app import app
from astae.core.checkpoint import read_checkpoint, save_checkpoint
from astae.core.dataset import MANIFEST, PROGRAMS

runner = CliRunner()
TINY = ["--set", "model.hidden_dim=16", "--set", "model.latent_dim=8", "--set", "model.encoder_layers=1",
        "--set", "training.eval_workers=1", "--set", "training.threads=1", "--batch_size", "16"]
SHARD = "graphs/shard_00000.bin"
# Outputs that exist before every case: a failing command must leave their bytes alone.
EXISTING = {"report.json": b'{"old": "report"}\n', "samples.jsonl": b'{"old": "sample"}\n',
            "map.png": b"old image"}


@dataclass
class Env:
    """Where a case builds its bad input, and the session's good inputs to build it from."""

    tmp: Path
    data: Path  # the tiny dataset (read only)
    ckpt: Path  # the tiny run's best_model.pt (read only)


Build = Callable[[Env], dict[str, object]]


@dataclass
class Case:
    """One row of the matrix: `build` makes the bad input and returns names for the `{}` fields
    of `args` and `fragments` (besides `tmp`, `data` and `ckpt`)."""

    id: str
    build: Build
    args: list[str]
    fragments: list[str]
    marks: list = field(default_factory=list)


def _nothing(env: Env) -> dict:
    return {}


# -- datasets --------------------------------------------------------------------------------


def _copy(env: Env) -> Path:
    bad = env.tmp / "bad"
    shutil.copytree(env.data, bad)
    return bad


def _dataset(mutate: Callable[[Path], object]) -> Build:
    """A copy of the tiny dataset as `{bad}`, changed by `mutate`."""

    def build(env: Env) -> dict:
        bad = _copy(env)
        mutate(bad)
        return {"bad": bad}

    return build


def _lines(d: Path) -> list[str]:
    return (d / PROGRAMS).read_text().splitlines(keepends=True)


def _set_line(d: Path, index: int, text: str) -> None:
    lines = _lines(d)
    lines[index] = text + "\n"
    (d / PROGRAMS).write_text("".join(lines))


def _edit_record(index: int, change: Callable[[dict], object]) -> Callable[[Path], None]:
    def mutate(d: Path) -> None:
        record = json.loads(_lines(d)[index])
        change(record)
        _set_line(d, index, json.dumps(record))

    return mutate


def _edit_manifest(change: Callable[[dict], object]) -> Callable[[Path], None]:
    def mutate(d: Path) -> None:
        manifest = json.loads((d / MANIFEST).read_text())
        change(manifest)
        (d / MANIFEST).write_text(json.dumps(manifest))

    return mutate


def _replace_with_dir(name: str) -> Callable[[Path], None]:
    def mutate(d: Path) -> None:
        (d / name).unlink()
        (d / name).mkdir()

    return mutate


def _truncate_shard(d: Path) -> None:
    data = (d / SHARD).read_bytes()
    (d / SHARD).write_bytes(data[: len(data) // 2])


def _garbage_shard(d: Path) -> None:
    size = (d / SHARD).stat().st_size
    (d / SHARD).write_bytes(os.urandom(size))


def _shard_with_fewer_graphs(d: Path) -> None:
    """A real DGL shard of 49 graphs, with its true size in the manifest, where 50 are listed."""
    import dgl

    graphs, _ = dgl.load_graphs(str(d / SHARD))
    dgl.save_graphs(str(d / SHARD), graphs[:-1])
    size = (d / SHARD).stat().st_size
    _edit_manifest(lambda m: m["graphs"]["shards"][0].update(bytes=size))(d)


def _one_program_fewer(d: Path) -> None:
    (d / PROGRAMS).write_text("".join(_lines(d)[:-1]))
    _edit_manifest(lambda m: m["counts"].update(programs=49))(d)


def _empty(d: Path) -> None:
    (d / PROGRAMS).write_text("")
    (d / SHARD).unlink()
    _edit_manifest(lambda m: (m["counts"].update(programs=0), m["graphs"].update(shards=[])))(d)


def _swap_lines(d: Path) -> None:
    lines = _lines(d)
    lines[1], lines[2] = lines[2], lines[1]
    (d / PROGRAMS).write_text("".join(lines))


def _not_utf8(d: Path) -> None:
    lines = _lines(d)
    (d / PROGRAMS).write_bytes(lines[0].encode() + b'{"id": 1, "source": "\xff\xfe"}\n')


def _unreadable(d: Path) -> None:
    (d / PROGRAMS).chmod(0)


def _missing(env: Env) -> dict:
    return {"bad": env.tmp / "absent"}


def _a_file(env: Env) -> dict:
    (env.tmp / "notes.txt").write_text("not a dataset\n")
    return {"bad": env.tmp / "notes.txt"}


DEEP_JSON = "[" * 100_000 + "]" * 100_000
LONG_INT = '{"id": 3, "source": "x", "n": ' + "1" * 5000 + "}"
P = "{bad}/" + PROGRAMS
M = "{bad}/" + MANIFEST
ROOT = pytest.mark.skipif(os.geteuid() == 0, reason="root reads files whatever their mode")
AT_LEAST_1 = "Input should be greater than or equal to 1"
UNDER_1 = "Input should be less than 1"
INTEGER = "Input should be a valid integer"
BUILD = ["dataset", "build", "--out", "{tmp}/ds", "--n", "5"]

# (id, build, fragments, marks)
DATASET_DEFECTS = [
    ("missing", _missing, ["{bad}: no such dataset directory"], []),
    ("a-file", _a_file, ["{bad}: is a file, not a dataset directory"], []),
    ("unreadable", _dataset(_unreadable), [f"{P}: unreadable"], [ROOT]),
    ("programs-is-a-dir", _dataset(_replace_with_dir(PROGRAMS)), [f"{P}: is a directory, not a file"], []),
    ("manifest-is-a-dir", _dataset(_replace_with_dir(MANIFEST)), [f"{M}: unreadable manifest"], []),
    ("no-manifest", _dataset(lambda d: (d / MANIFEST).unlink()), ["{bad}: not a dataset (no manifest.json)"],
     []),
    ("manifest-not-json", _dataset(lambda d: (d / MANIFEST).write_text("{")), [f"{M}: not valid JSON"], []),
    ("empty", _dataset(_empty), [f"{P}: the dataset is empty"], []),
    ("malformed-line", _dataset(lambda d: _set_line(d, 2, '{"id": 2, "source": ')),
     [f"{P}:3: not valid JSON"], []),
    ("not-an-object", _dataset(lambda d: _set_line(d, 2, "[2]")), [f"{P}:3: expected a JSON object"], []),
    ("missing-field", _dataset(_edit_record(1, lambda r: r.pop("examples"))),
     [f"{P}:2: missing field `examples`"], []),
    ("wrong-type", _dataset(_edit_record(1, lambda r: r.update(signature=5))),
     [f"{P}:2: field `signature` must be str"], []),
    ("wrong-nested-type", _dataset(_edit_record(1, lambda r: r["examples"].__setitem__(0, "x"))),
     [f"{P}:2: field `examples`: item 0"], []),
    ("no-sizes", _dataset(_edit_record(1, lambda r: r.update(sizes={}))), [f"{P}:2: field `sizes`"], []),
    ("action-out-of-range", _dataset(_edit_record(1, lambda r: r["actions"].append(10**6))),
     [f"{P}:2: field `actions` must hold action numbers"], []),
    ("id-out-of-order", _dataset(_swap_lines), [f"{P}:2: id 2 where 1 was expected"], []),
    ("deep-json", _dataset(lambda d: _set_line(d, 3, DEEP_JSON)), [f"{P}:4: not valid JSON (nested"], []),
    ("long-int", _dataset(lambda d: _set_line(d, 3, LONG_INT)), [f"{P}:4: not valid JSON (Exceeds"], []),
    ("not-utf8", _dataset(_not_utf8), [f"{P}:2: not UTF-8"], []),
    ("count-mismatch", _dataset(lambda d: (d / PROGRAMS).write_text("".join(_lines(d)[:10]))),
     [f"{P}: 10 programs, the manifest says 50"], []),
    ("programs-vs-shards", _dataset(_one_program_fewer), ["{bad}/graphs: 50 graphs for 49 programs"], []),
    ("no-graphs", _dataset(lambda d: shutil.rmtree(d / "graphs")), ["{bad}: no graphs/ directory"], []),
    ("missing-shard", _dataset(lambda d: (d / SHARD).unlink()), [f"{{bad}}/{SHARD}: graph shard missing"],
     []),
    ("truncated-shard", _dataset(_truncate_shard), [f"{{bad}}/{SHARD}: graph shard is", "truncated"], []),
    ("garbage-shard", _dataset(_garbage_shard), [f"{{bad}}/{SHARD}: not a DGL graph file"], []),
    ("shard-count", _dataset(_shard_with_fewer_graphs),
     [f"{{bad}}/{SHARD}: holds 49 graphs, the manifest says 50"], []),
    ("shard-outside-graphs", _dataset(_edit_manifest(lambda m: m["graphs"]["shards"][0].update(
        file="../programs.jsonl"))), [f"{M}: `graphs.shards[0]`"], []),
    ("other-format-version", _dataset(_edit_manifest(lambda m: m.update(format_version=99))),
     [f"{M}: dataset format version 99"], []),
    ("other-grammar", _dataset(_edit_manifest(lambda m: m.update(grammar_fingerprint="0000"))),
     [f"{M}: dataset built with grammar '0000'"], []),
    # Well-formed JSON, but the actions do not replay: found where the actions are used.
    ("actions-not-a-derivation", _dataset(_edit_record(0, lambda r: r["actions"].pop())),
     [f"{P}:1: field `actions` is not a derivation"], []),
]

DATASET_COMMANDS = {
    "train": ["train", "--data_dir", "{bad}", "--no_wandb", "--artifacts_dir", "{tmp}/artifacts", *TINY],
    "inspect-program": ["inspect", "program", "{bad}", "0"],
    "inspect-dataset": ["inspect", "dataset", "{bad}"],
    "eval": ["eval", "{ckpt}", "--data_dir", "{bad}", "--workers", "1", "--out", "{tmp}/report.json"],
    "sample-interpolate": ["sample", "{ckpt}", "--interpolate", "0", "1", "--data_dir", "{bad}",
                           "--workers", "1", "--out", "{tmp}/samples.jsonl"],
    "sample-near": ["sample", "{ckpt}", "--near", "0", "--data_dir", "{bad}", "--workers", "1"],
    "inspect-latent": ["inspect", "latent", "{ckpt}", "--data_dir", "{bad}", "--split", "all"],
}
# Every defect with the commands that read every part of a dataset; these with every command.
EVERY_COMMAND = {"missing", "a-file", "empty", "malformed-line", "missing-field", "deep-json",
                 "truncated-shard", "shard-count", "other-format-version", "other-grammar",
                 "actions-not-a-derivation"}


def _dataset_cases() -> list[Case]:
    cases = []
    for defect, build, fragments, marks in DATASET_DEFECTS:
        for command, args in DATASET_COMMANDS.items():
            if command in ("train", "inspect-program") or defect in EVERY_COMMAND:
                if command == "inspect-dataset" and defect == "actions-not-a-derivation":
                    continue  # the summary counts actions; it does not replay them
                if command == "eval" and defect == "actions-not-a-derivation":
                    continue  # eval streams and replays only its split's programs (tested in test_evaluation)
                cases.append(Case(f"{command}-{defect}", build, args, fragments, marks))
    return cases


# -- config files and overrides --------------------------------------------------------------


def _file(name: str, content: str | bytes) -> Build:
    def build(env: Env) -> dict:
        path = env.tmp / name
        path.write_bytes(content if isinstance(content, bytes) else content.encode())
        return {"cfg": path}

    return build


def _config_dir(env: Env) -> dict:
    (env.tmp / "cfg.yaml").mkdir()
    return {"cfg": env.tmp / "cfg.yaml"}


def _no_config(env: Env) -> dict:
    return {"cfg": env.tmp / "absent.yaml"}


DEEP_YAML = "model: " + "[" * 100_000 + "]" * 100_000 + "\n"
# (id, build, fragments) for `train --config`
TRAIN_YAML = [
    ("missing", _no_config, ["{cfg}: config file not found"]),
    ("a-directory", _config_dir, ["{cfg}: cannot read config file"]),
    ("not-utf8", _file("cfg.yaml", b"training:\n  epochs: \xff\n"), ["{cfg}: cannot read config file"]),
    ("invalid-yaml", _file("cfg.yaml", "training:\n  epochs: 2\n  batch_size: : 3\n"),
     ["{cfg}:3: invalid YAML: mapping values are not allowed here"]),
    ("deep-yaml", _file("cfg.yaml", DEEP_YAML), ["{cfg}: invalid YAML: nested too deeply"]),
    ("long-int", _file("cfg.yaml", "training:\n  epochs: " + "1" * 5000 + "\n"),
     ["{cfg}: invalid YAML: Exceeds the limit"]),
    ("a-list", _file("cfg.yaml", "- epochs: 3\n"), ["{cfg}: a config file must hold a mapping"]),
    ("unknown-key", _file("cfg.yaml", "model:\n  latnt_dim: 4\n"), ["{cfg}: invalid configuration",
                                                                     "model.latnt_dim: unknown key"]),
    ("unknown-section", _file("cfg.yaml", "optimiser:\n  lr: 0.1\n"), ["optimiser: unknown key"]),
    ("section-not-a-mapping", _file("cfg.yaml", "model: 5\n"), ["model: Input should be a valid dictionary"]),
    ("wrong-type", _file("cfg.yaml", "training:\n  epochs: two\n"), [f"training.epochs: {INTEGER}"]),
    ("negative-epochs", _file("cfg.yaml", "training:\n  epochs: -1\n"),
     [f"training.epochs: {AT_LEAST_1}"]),
    ("zero-batch-size", _file("cfg.yaml", "training:\n  batch_size: 0\n"),
     [f"training.batch_size: {AT_LEAST_1}"]),
    ("val-fraction-1", _file("cfg.yaml", "data:\n  val_fraction: 1.0\n"),
     ["data.val_fraction: Input should be less than 1"]),
    ("zero-lr", _file("cfg.yaml", "training:\n  lr: 0\n"), ["training.lr: Input should be greater than 0"]),
    ("bad-choice", _file("cfg.yaml", "model:\n  encoder: transformer\n"), ["model.encoder: Input should be"]),
]
# (id, extra args, fragments) for `train --data_dir DATA`
TRAIN_FLAGS = [
    ("set-unknown-key", ["--set", "model.latnt_dim=4"], ["model.latnt_dim: unknown key"]),
    ("set-wrong-type", ["--set", "training.epochs=two"], [f"training.epochs: {INTEGER}"]),
    ("set-negative-epochs", ["--set", "training.epochs=-1"], ["training.epochs: Input should be greater"]),
    ("set-zero-batch-size", ["--set", "training.batch_size=0"], [f"training.batch_size: {AT_LEAST_1}"]),
    ("set-val-fraction-1", ["--set", "data.val_fraction=1.0"], [f"data.val_fraction: {UNDER_1}"]),
    ("set-section-not-a-mapping", ["--set", "model=5"], ["model: Input should be a valid dictionary"]),
    ("set-no-equals", ["--set", "nonsense"], ["`--set nonsense`: expected key.path=value"]),
    ("set-long-int", ["--set", "training.epochs=" + "1" * 5000], ["training.epochs: Unable to parse"]),
    ("set-too-few-programs", ["--set", "data.max_programs=1"], ["data.max_programs: Input should be greater"]
     ),
    ("flag-negative-epochs", ["--epochs", "-1"], [f"training.epochs: {AT_LEAST_1}"]),
    ("flag-zero-batch-size", ["--batch_size", "0"], ["training.batch_size: Input should be greater"]),
    ("flag-zero-lr", ["--lr", "0"], ["training.lr: Input should be greater than 0"]),
    ("flag-bad-device", ["--device", "quantum"], ["training.device: Input should be"]),
]
# (id, build, fragments) for `dataset build --config` and `dataset import --config`
GENERATOR_YAML = [
    ("missing", _no_config, ["{cfg}: config file not found"]),
    ("invalid-yaml", _file("gen.yaml", "max_depth: 3\nmax_nesting: [1,\n"), ["{cfg}:3: invalid YAML"]),
    ("unknown-key", _file("gen.yaml", "max_dept: 4\n"),
     ["{cfg}: invalid configuration", "max_dept: unknown key"]),
    ("wrong-type", _file("gen.yaml", "max_depth: deep\n"), ["max_depth: Input should be a valid integer"]),
    ("out-of-range", _file("gen.yaml", "max_depth: 0\n"), [f"max_depth: {AT_LEAST_1}"]),
    ("min-over-max", _file("gen.yaml", "min_params: 3\nmax_params: 1\n"),
     ["min_params must not exceed max_params"]),
]


def _config_cases() -> list[Case]:
    cases = [
        Case(f"train-config-{name}", build,
             ["train", "--config", "{cfg}", "--data_dir", "{data}", "--no_wandb", "--artifacts_dir",
              "{tmp}/artifacts"], fragments)
        for name, build, fragments in TRAIN_YAML
    ]
    cases += [
        Case(f"train-{name}", _nothing,
             ["train", "--data_dir", "{data}", "--no_wandb", "--artifacts_dir", "{tmp}/artifacts", *TINY,
              *extra],
             fragments)
        for name, extra, fragments in TRAIN_FLAGS
    ]
    for name, build, fragments in GENERATOR_YAML:
        args = ["dataset", "build", "--out", "{tmp}/ds", "--n", "5", "--config", "{cfg}"]
        cases.append(Case(f"build-config-{name}", build, args, fragments))
    for name, build, fragments in GENERATOR_YAML[:3]:
        args = ["dataset", "import", "{src}", "--out", "{tmp}/ds", "--config", "{cfg}"]
        cases.append(Case(f"import-config-{name}", _with_import_file(build), args, fragments))
    cases += [
        Case("build-set-out-of-range", _nothing, [*BUILD, "--set", "max_depth=0"],
             [f"max_depth: {AT_LEAST_1}"]),
        Case("build-set-unknown-key", _nothing, [*BUILD, "--set", "bogus=1"], ["bogus: unknown key"]),
        Case("train-no-data-dir", _nothing, ["train", "--no_wandb", "--artifacts_dir", "{tmp}/artifacts"],
             ["data.data_dir: no dataset given; pass --data_dir DIR or set data.data_dir"]),
    ]
    return cases


# -- import files and output directories -----------------------------------------------------

GOOD_PROGRAM = {"source": "def f(a: int) -> int:\n    return a + 1\n"}


def _with_import_file(build: Build) -> Build:
    def both(env: Env) -> dict:
        src = env.tmp / "mine.jsonl"
        src.write_text(json.dumps(GOOD_PROGRAM) + "\n")
        return {"src": src, **build(env)}

    return both


def _import_file(name: str, lines: list[str] | bytes) -> Build:
    def build(env: Env) -> dict:
        src = env.tmp / name
        text = lines if isinstance(lines, bytes) else "".join(line + "\n" for line in lines).encode()
        src.write_bytes(text)
        return {"src": src}

    return build


def _import_dir(env: Env) -> dict:
    (env.tmp / "mine.jsonl").mkdir()
    return {"src": env.tmp / "mine.jsonl"}


GOOD = json.dumps(GOOD_PROGRAM)
# (id, build, fragments) for `dataset import {src} --out {tmp}/ds`
IMPORT_FILES = [
    ("missing", lambda env: {"src": env.tmp / "absent.jsonl"}, ["{src}: file not found"]),
    ("a-directory", _import_dir, ["{src}: cannot read"]),
    ("other-suffix", _import_file("mine.txt", [GOOD]), ["{src}: expected a .py or .jsonl file"]),
    ("empty", _import_file("mine.jsonl", []), ["{src}: no programs found"]),
    ("not-utf8", _import_file("mine.jsonl", b'{"source": "\xff"}\n'), ["{src}: cannot read"]),
    ("malformed-line", _import_file("mine.jsonl", [GOOD, GOOD, '{"source": ']), ["{src}:3: not valid JSON"]),
    ("not-an-object", _import_file("mine.jsonl", [GOOD, "[1]"]),
     ['{src}:2: expected an object with a "source"']),
    ("source-not-a-string", _import_file("mine.jsonl", [GOOD, '{"source": 5}']),
     ['{src}:2: expected an object with a "source" string']),
    ("examples-not-a-list", _import_file("mine.jsonl", [GOOD, GOOD[:-1] + ', "examples": 5}']),
     ['{src}:2: "examples" must be a list']),
    ("deep-json", _import_file("mine.jsonl", [GOOD, '{"source": "x", "examples": ' + DEEP_JSON + "}"]),
     ["{src}:2: not valid JSON (nested too deeply"]),
    ("long-int", _import_file("mine.jsonl", [GOOD, LONG_INT]), ["{src}:2: not valid JSON (Exceeds the"]),
    ("py-syntax-error", _import_file("mine.py", ["def f(a: int) -> int:", "    return a +"]), ["{src}:2:"]),
    ("py-outside-language", _import_file("mine.py", ["def f(a: int) -> int:", "    while a:",
                                                     "        a -= 1", "    return a"]),
     ["{src}:2: `while` loop"]),
]


def _existing_dataset(env: Env) -> dict:
    shutil.copytree(env.data, env.tmp / "ds")
    src = env.tmp / "mine.jsonl"
    src.write_text(GOOD + "\n")
    return {"src": src}


def _out_is_a_file(env: Env) -> dict:
    (env.tmp / "ds").write_text("a file\n")
    src = env.tmp / "mine.jsonl"
    src.write_text(GOOD + "\n")
    return {"src": src}


def _out_not_a_dataset(env: Env) -> dict:
    (env.tmp / "ds").mkdir()
    (env.tmp / "ds" / "thesis.tex").write_text("years of work\n")
    return {}


def _output_cases() -> list[Case]:
    cases = [
        Case(f"import-{name}", build, ["dataset", "import", "{src}", "--out", "{tmp}/ds"], fragments)
        for name, build, fragments in IMPORT_FILES
    ]
    cases += [
        Case("build-out-exists", _existing_dataset, BUILD, ["{tmp}/ds: already exists; pass --force"]),
        Case("build-out-is-a-file", _out_is_a_file, BUILD, ["{tmp}/ds: exists and is not a directory"]),
        Case("build-out-under-a-file", _out_is_a_file, [*BUILD[:3], "{tmp}/ds/x", "--n", "1"],
             ["{tmp}/ds/x: cannot create the output directory"]),
        Case("import-out-exists", _existing_dataset, ["dataset", "import", "{src}", "--out", "{tmp}/ds"],
             ["{tmp}/ds: already exists; pass --force"]),
        Case("import-out-is-a-file", _out_is_a_file, ["dataset", "import", "{src}", "--out", "{tmp}/ds"],
             ["{tmp}/ds: exists and is not a directory"]),
        Case("quickstart-out-is-a-file", _out_is_a_file, ["quickstart", "--out", "{tmp}/ds"],
             ["{tmp}/ds: exists and is not a directory"]),
        Case("quickstart-out-not-a-dataset", _out_not_a_dataset, ["quickstart", "--out", "{tmp}/ds"],
             ["--out {tmp}/ds: exists and is not an astae dataset"]),
        Case("quickstart-artifacts-dir-is-a-file", _out_is_a_file,
             ["quickstart", "--out", "{tmp}/qs", "--artifacts_dir", "{tmp}/ds"],
             ["--artifacts_dir {tmp}/ds: is a file, not a directory"]),
        Case("quickstart-zero-epochs", _existing_dataset,
             ["quickstart", "--out", "{tmp}/ds", "--epochs", "0"],
             [f"training.epochs: {AT_LEAST_1}"]),
        Case("train-artifacts-dir-is-a-file", _out_is_a_file,
             ["train", "--data_dir", "{data}", "--no_wandb", "--artifacts_dir", "{tmp}/ds"],
             ["tracking.artifacts_dir: cannot create {tmp}/ds/run_"]),
        Case("eval-out-is-a-directory", _nothing, ["eval", "{ckpt}", "--out", "{tmp}"],
             ["--out {tmp}: is a directory"]),
        Case("eval-dump-dir-missing", _nothing, ["eval", "{ckpt}", "--dump", "{tmp}/no/dump.jsonl"],
             ["--dump {tmp}/no/dump.jsonl: directory {tmp}/no does not exist"]),
        Case("eval-split", _nothing, ["eval", "{ckpt}", "--split", "holdout", "--out", "{tmp}/report.json"],
             ["--split: 'holdout' is not one of val, train, test, all"]),
        Case("eval-split-test-none-held-out", _nothing,
             ["eval", "{ckpt}", "--split", "test", "--out", "{tmp}/report.json"],
             ["--split: 'test': this checkpoint has no test programs; its training held out no test split "
              "(data.test_fraction: 0)"]),
        Case("eval-beam-0", _nothing, ["eval", "{ckpt}", "--beam", "0", "--out", "{tmp}/report.json"],
             ["--beam: the beam width must be at least 1"]),
        Case("sample-out-is-a-directory", _nothing, ["sample", "{ckpt}", "--out", "{tmp}"],
             ["--out {tmp}: is a directory"]),
        Case("sample-interpolate-no-such-program", _nothing,
             ["sample", "{ckpt}", "--interpolate", "0", "999", "--workers", "1", "--out",
              "{tmp}/samples.jsonl"],
             ["no program 999 (ids are 0..49)"]),
        Case("sample-near-negative-id", _nothing, ["sample", "{ckpt}", "--near", "-1", "--workers", "1"],
             ["no program -1"]),
        Case("sample-zero-temperature", _nothing, ["sample", "{ckpt}", "--temperature", "0"],
             ["--temperature: must be positive"]),
        Case("sample-bad-prior", _nothing, ["sample", "{ckpt}", "--prior", "uniform"],
             ["--prior: 'uniform'"]),
        Case("synthesize-out-is-a-directory", _nothing,
             ["synthesize", "{ckpt}", "--examples", "{data}/programs.jsonl", "--index", "0",
              "--out", "{tmp}"],
             ["--out {tmp}: is a directory"]),
        Case("synthesize-records-without-index", _nothing,
             ["synthesize", "{ckpt}", "--examples", "{data}/programs.jsonl", "--out", "{tmp}/report.json"],
             ["{data}/programs.jsonl", "pass --index=ID to pick one"]),
        Case("synthesize-no-such-record", _nothing,
             ["synthesize", "{ckpt}", "--examples", "{data}/programs.jsonl", "--index", "999"],
             ["{data}/programs.jsonl", "999"]),
        Case("synthesize-examples-missing", _nothing,
             ["synthesize", "{ckpt}", "--examples", "{tmp}/none.json", "--out", "{tmp}/report.json"],
             ["{tmp}/none.json"]),
        Case("synthesize-bad-method", _nothing,
             ["synthesize", "{ckpt}", "--examples", "{data}/programs.jsonl", "--index", "0",
              "--method", "sa"],
             ["--method: 'sa'"]),
        Case("synthesize-signature-disagrees", _nothing,
             ["synthesize", "{ckpt}", "--examples", "{data}/programs.jsonl", "--index", "0", "--signature",
              "(int, int, int) -> int"], ["{data}/programs.jsonl", "signature"]),
        Case("inspect-program-no-such-id", _nothing, ["inspect", "program", "{data}", "50"],
             ["{data}: no program 50 (ids are 0..49)"]),
        Case("inspect-latent-out-not-an-image", _nothing,
             ["inspect", "latent", "{ckpt}", "--out", "{tmp}/map.txt"],
             ["--out: {tmp}/map.txt: not an image file name"]),
        Case("inspect-latent-split", _nothing, ["inspect", "latent", "{ckpt}", "--split", "holdout", "--out",
                                                "{tmp}/map.png"], ["--split: 'holdout'"]),
    ]
    return cases


# -- checkpoints -----------------------------------------------------------------------------


class _Exploit:
    """Unpickling this runs a shell command: a checkpoint must be loaded without running it."""

    def __init__(self, target: Path) -> None:
        self.target = target

    def __reduce__(self):
        return os.system, (f"touch {self.target}",)


def _checkpoint(write: Callable[[Env, Path], object]) -> Build:
    """`{bad}`: a file `run/model.pt` in the test directory (so a resumed run would write beside it)."""

    def build(env: Env) -> dict:
        (env.tmp / "run").mkdir()
        bad = env.tmp / "run" / "model.pt"
        write(env, bad)
        return {"bad": bad}

    return build


def _truncated(env: Env, path: Path) -> None:
    data = env.ckpt.read_bytes()
    path.write_bytes(data[: len(data) // 2])


def _other_shape(env: Env, path: Path) -> None:
    payload = read_checkpoint(env.ckpt)
    payload["config"]["model"]["hidden_dim"] = 32  # the weights were trained with 16
    save_checkpoint(path, payload)


def _other_grammar(env: Env, path: Path) -> None:
    payload = read_checkpoint(env.ckpt)
    torch.save({**payload, "grammar_fingerprint": "0000"}, path)


def _exploit(env: Env, path: Path) -> None:
    torch.save({"model": _Exploit(env.tmp / "CANARY")}, path)


def _in_a_dir(env: Env, path: Path) -> None:
    path.mkdir()


def _dataset_gone(env: Env, path: Path) -> None:
    payload = read_checkpoint(env.ckpt)
    payload["dataset"] = {**payload["dataset"], "path": str(env.tmp / "gone")}
    save_checkpoint(path, payload)


CHECKPOINT_DEFECTS = [
    ("missing", _checkpoint(lambda env, p: None), ["{bad}: no such checkpoint file"]),
    ("a-directory", _checkpoint(_in_a_dir), ["{bad}: no such checkpoint file"]),
    ("empty", _checkpoint(lambda env, p: p.write_bytes(b"")), ["{bad}: not a readable astae checkpoint"]),
    ("truncated", _checkpoint(_truncated), ["{bad}: not a readable astae checkpoint"]),
    ("text", _checkpoint(lambda env, p: p.write_text("epoch: 3\nweights: lots\n")),
     ["{bad}: not a readable astae checkpoint"]),
    ("random-bytes", _checkpoint(lambda env, p: p.write_bytes(os.urandom(4096))),
     ["{bad}: not a readable astae checkpoint"]),
    ("plain-dict", _checkpoint(lambda env, p: torch.save({"weights": torch.zeros(3)}, p)),
     ["{bad}: not an astae checkpoint"]),
    ("code-executing-pickle", _checkpoint(_exploit), ["{bad}: ", "could run code"]),
    ("other-shape", _checkpoint(_other_shape), ["{bad}: its weights do not fit this astae's model"]),
    ("other-grammar", _checkpoint(_other_grammar), ["{bad}: trained with grammar '0000'"]),
]
# A checkpoint whose dataset moved: the commands that need its programs say which flag gives them.
DATASET_GONE = [
    Case(f"{name}-dataset-gone", _checkpoint(_dataset_gone), args,
         ["{tmp}/gone: the checkpoint's dataset is gone; pass --data_dir=DIR"])
    for name, args in [
        ("eval", ["eval", "{bad}", "--workers", "1", "--out", "{tmp}/report.json"]),
        ("sample-interpolate", ["sample", "{bad}", "--interpolate", "0", "1", "--workers", "1"]),
        ("inspect-latent", ["inspect", "latent", "{bad}", "--out", "{tmp}/map.png"]),
    ]
]
CHECKPOINT_COMMANDS = {
    "eval": ["eval", "{bad}", "--workers", "1", "--out", "{tmp}/report.json"],
    "sample": ["sample", "{bad}", "--workers", "1", "--out", "{tmp}/samples.jsonl"],
    "sample-interpolate": ["sample", "{bad}", "--interpolate", "0", "1", "--workers", "1"],
    "sample-near": ["sample", "{bad}", "--near", "0", "--workers", "1"],
    "inspect-latent": ["inspect", "latent", "{bad}"],
    "inspect-latent-out": ["inspect", "latent", "{bad}", "--out", "{tmp}/map.png"],
    "inspect-checkpoint": ["inspect", "checkpoint", "{bad}"],
    "synthesize": ["synthesize", "{bad}", "--examples", "{data}/programs.jsonl", "--index", "0",
                   "--workers", "1", "--out", "{tmp}/report.json"],
    "train-resume": ["train", "--resume", "{bad}", "--epochs", "3"],
}
# `inspect checkpoint` summarises a checkpoint it cannot load (tested below), so these are no error there.
SUMMARISED = {"other-shape", "other-grammar"}


def _checkpoint_cases() -> list[Case]:
    cases = [
        Case(f"{command}-{defect}", build, args, fragments)
        for defect, build, fragments in CHECKPOINT_DEFECTS
        for command, args in CHECKPOINT_COMMANDS.items()
        if not (command == "inspect-checkpoint" and defect in SUMMARISED)
    ]
    cases.append(Case("sample-newest-checkpoint-corrupt", _corrupt_best_model,
                      ["sample", "--artifacts_dir", "{tmp}/artifacts"],
                      ["{tmp}/artifacts/run_1/best_model.pt: not a readable astae checkpoint"]))
    cases.append(Case(
        "train-resume-changing-the-model-shape", _checkpoint(lambda env, p: shutil.copy(env.ckpt, p)),
        ["train", "--resume", "{bad}", "--epochs", "3", "--set", "model.hidden_dim=32"],
        ["a resumed run keeps the model it was trained with"], [],
    ))
    return cases


def _corrupt_best_model(env: Env) -> dict:
    (env.tmp / "artifacts" / "run_1").mkdir(parents=True)
    (env.tmp / "artifacts" / "run_1" / "best_model.pt").write_bytes(b"PK\x03\x04 not a zip")
    return {}


CASES = [*_dataset_cases(), *_config_cases(), *_output_cases(), *_checkpoint_cases(), *DATASET_GONE]


# -- the test --------------------------------------------------------------------------------


def _snapshot(*roots: Path) -> dict[str, tuple]:
    """Every path under `roots` with its kind, size, mtime and (for files) a hash of its bytes."""
    out: dict[str, tuple] = {}
    for root in roots:
        for path in [root, *root.rglob("*")]:
            st = path.lstat()
            if path.is_dir():
                out[str(path)] = ("dir", st.st_mtime_ns)
                continue
            try:
                digest = hashlib.sha256(path.read_bytes()).hexdigest()
            except OSError:
                digest = None
            out[str(path)] = ("file", st.st_size, st.st_mtime_ns, digest)
    return out


def _differences(before: dict, after: dict) -> list[str]:
    return sorted(
        [f"new: {p}" for p in after.keys() - before.keys()]
        + [f"gone: {p}" for p in before.keys() - after.keys()]
        + [f"changed: {p}" for p in before.keys() & after.keys() if before[p] != after[p]]
    )


@pytest.mark.parametrize("case", [pytest.param(c, id=c.id, marks=c.marks) for c in CASES])
def test_bad_input_is_one_message_exit_code_2_and_nothing_written(case, tiny_dataset, tiny_run, tmp_path,
                                                                   monkeypatch):
    env = Env(tmp_path, tiny_dataset, tiny_run / "best_model.pt")
    for name, content in EXISTING.items():
        (tmp_path / name).write_bytes(content)
    names = {"tmp": tmp_path, "data": tiny_dataset, "ckpt": env.ckpt, **case.build(env)}
    args = [a.format(**names) for a in case.args]
    monkeypatch.chdir(tmp_path)  # relative defaults (training_artifacts, data/quickstart) land here
    before = _snapshot(tmp_path, tiny_dataset, tiny_run)
    try:
        result = runner.invoke(app, args)
    finally:
        after = _snapshot(tmp_path, tiny_dataset, tiny_run)
        if case.id.endswith("unreadable"):
            (names["bad"] / PROGRAMS).chmod(0o644)
    output = result.output
    assert result.exit_code == 2, f"{output}\n{result.exception!r}"
    assert "Traceback" not in output
    assert sum(line.startswith("error:") for line in output.splitlines()) == 1, output
    for fragment in case.fragments:
        assert fragment.format(**names) in output
    assert _differences(before, after) == []
    assert not (tmp_path / "CANARY").exists()


# -- what is summarised, not refused ---------------------------------------------------------


def test_inspect_checkpoint_summarises_a_checkpoint_whose_weights_do_not_fit_and_says_so(tiny_run, tmp_path):
    path = tmp_path / "model.pt"
    _other_shape(Env(tmp_path, Path(), tiny_run / "best_model.pt"), path)
    result = runner.invoke(app, ["inspect", "checkpoint", str(path)])
    assert result.exit_code == 0, result.output
    assert "incompatible:" in result.output and "its weights do not fit the model its config describes" in (
        result.output
    )
    assert "parameters" in result.output
