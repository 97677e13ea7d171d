"""What every adapter shares: ids hashed with a key."""

from __future__ import annotations

from persona_risk.features import schema as s
from persona_risk.features.adapters import SOURCES, make_source
from persona_risk.features.adapters.base import Options, Source, keyed_hash
from tests.features.adapters.helpers import VENDORS, run


def test_every_source_name_makes_its_adapter():
    for name in SOURCES:
        source = make_source(name, Options(), VENDORS / "custom_logins.yaml")
        assert isinstance(source, Source) and source.name == name


def test_ids_hashed_with_a_key_consistently(tmp_path):
    key = b"secret"
    _, a, _ = run("okta", [VENDORS / "okta_system_log.jsonl"], tmp_path, hash_key=key)
    _, b, _ = run("okta", [VENDORS / "okta_system_log.jsonl"], tmp_path, hash_key=key)
    assert a[s.ACCOUNT_ID].tolist() == b[s.ACCOUNT_ID].tolist()
    assert a[s.ACCOUNT_ID].iloc[0] == keyed_hash(key, "ana@example.com")
    assert "ana@example.com" not in set(a[s.ACCOUNT_ID])
