import numpy as np

from astae.core.digests import DigestSet, digest


def test_a_digest_set_holds_what_was_added_across_merges(monkeypatch):
    monkeypatch.setattr(DigestSet, "MERGE_AT", 7)
    seen = DigestSet()
    added = [digest(f"program {i}") for i in range(100)]
    twins = [bytes(8) + bytes([k]) * 8 for k in range(1, 4)]  # one high half, three low halves
    for d in [*added, *twins[:2]]:
        seen.add(d)
    seen.add(added[5])  # again: nothing changes
    assert len(seen) >= 100 and len(seen.recent) < 7 and len(seen.high) > 0
    assert all(d in seen for d in [*added, *twins[:2]])
    assert twins[2] not in seen and digest("program 100") not in seen
    assert (np.diff(seen.high.astype(np.float64)) >= 0).all()
