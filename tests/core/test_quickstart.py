import pytest

from astae.core.config import ConfigError
from astae.core.quickstart import run_quickstart


def test_run_quickstart_refuses_an_out_that_is_not_a_dataset_naming_the_parameter(tmp_path):
    out = tmp_path / "ds"
    out.mkdir()
    (out / "thesis.tex").write_text("years of work\n")
    with pytest.raises(ConfigError, match=f"^out {out}: exists and is not an astae dataset"):
        run_quickstart(out, n=2, workers=1, epochs=1, artifacts_dir=tmp_path / "runs")
    assert [p.name for p in out.iterdir()] == ["thesis.tex"]
    assert not (tmp_path / "runs").exists()
