"""Each bad input gets a clear error naming the field and row, or a quarantine reason."""

from __future__ import annotations

import pandas as pd
import pytest

from features import schema as s
from features.validate import SchemaError, validate_accounts, validate_events

NOW = pd.Timestamp("2026-03-01", tz="UTC")


def good_accounts() -> pd.DataFrame:
    return pd.DataFrame({
        s.ACCOUNT_ID: ["a", "b", "c"],
        s.CREATED_AT: ["2025-01-01T00:00:00Z", "2025-02-01T00:00:00Z", "2025-03-01T08:00:00Z"],
        s.CLAIMED_TIMEZONE: ["America/New_York", None, "Europe/Berlin"],
        s.CLAIMED_LAT: [40.7, None, 52.5], s.CLAIMED_LON: [-74.0, None, 13.4],
    })


def good_events() -> pd.DataFrame:
    return pd.DataFrame({
        s.EVENT_ID: ["e1", "e2", "e3"], s.ACCOUNT_ID: ["a", "a", "b"],
        s.TS: ["2026-02-01T10:00:00Z", "2026-02-01T09:00:00Z", "2026-02-02T10:00:00+01:00"],
        s.LAT: [40.7, 31.2, None], s.LON: [-74.0, 121.5, None],
        s.DEVICE_TZ: ["America/New_York", "Asia/Shanghai", None],
    })


def test_good_accounts_are_canonical():
    df = validate_accounts(good_accounts())
    assert str(df[s.CREATED_AT].dtype) == "datetime64[ns, UTC]"
    assert df.loc[2, s.CREATED_AT] == pd.Timestamp("2025-03-01T08:00:00Z")


@pytest.mark.parametrize(("column", "value", "problem", "row"), [
    (s.CREATED_AT, "not a date", "unparsable timestamp", 1),
    (s.CLAIMED_LAT, 91.0, "latitude outside", 0),
    (s.CLAIMED_LON, "east", "not a number", 2),
    (s.CLAIMED_TIMEZONE, "Mars/Olympus", "unknown time-zone name", 1),
    (s.ACCOUNT_ID, "a", "duplicate account_id", 1),
])
def test_bad_account_field_names_column_and_row(column, value, problem, row):
    df = good_accounts()
    df[column] = df[column].astype(object)
    df.loc[row, column] = value
    if column == s.CLAIMED_LAT:
        df.loc[row, s.CLAIMED_LON] = 0.0
    with pytest.raises(SchemaError) as err:
        validate_accounts(df)
    assert err.value.column == column and err.value.rows == [row]
    assert problem in str(err.value) and f"[{row}]" in str(err.value)


def test_missing_required_column_is_named():
    with pytest.raises(SchemaError, match="accounts.created_at: required column is missing"):
        validate_accounts(good_accounts().drop(columns=[s.CREATED_AT]))
    with pytest.raises(SchemaError, match="events.ts: required column is missing"):
        validate_events(good_events().drop(columns=[s.TS]), now=NOW)


def test_good_events_are_sorted_and_typed():
    clean, quarantine = validate_events(good_events(), now=NOW)
    assert quarantine.empty
    assert clean[s.EVENT_ID].tolist() == ["e1", "e2", "e3"]  # input order kept
    assert clean.loc[2, s.TS] == pd.Timestamp("2026-02-02T09:00:00Z")
    assert clean[s.SUCCESS].all() and clean[s.INTERACTIVE].all()  # defaults
    assert clean.loc[0, s.GEO_SOURCE] == "log" and pd.isna(clean.loc[2, s.GEO_SOURCE])


@pytest.mark.parametrize(("column", "value", "reason"), [
    (s.TS, "yesterday-ish", "ts: missing or unparsable timestamp"),
    (s.TS, "2027-01-01T00:00:00Z", "ts: timestamp in the future"),
    (s.LAT, 123.0, "lat: latitude outside [-90, 90]"),
    (s.LON, "far", "lon: not a number"),
    (s.DEVICE_TZ, "Asia/Atlantis", "device_tz: unknown time-zone name"),
    (s.ACCOUNT_ID, "", "account_id: missing account_id"),
    (s.EVENT_ID, "e1", "event_id: duplicate event_id (first copy kept)"),
])
def test_bad_event_rows_are_quarantined_and_good_rows_kept(column, value, reason):
    df = good_events()
    df[column] = df[column].astype(object)
    df.loc[2, column] = value
    clean, quarantine = validate_events(df, now=NOW)
    assert quarantine[s.REASON].tolist() == [reason]
    assert quarantine[s.ROW].tolist() == [2]
    assert sorted(clean[s.EVENT_ID]) == ["e1", "e2"]


def test_wrong_types_in_optional_columns():
    df = good_events().assign(**{s.SUCCESS: ["yes", "maybe", "0"], s.ASN: ["7922", "1.5", None]})
    clean, quarantine = validate_events(df, now=NOW)
    assert quarantine[s.REASON].tolist() == ["asn: not a non-negative integer"]
    assert clean.set_index(s.EVENT_ID).loc["e3", s.SUCCESS] == False  # noqa: E712


def test_events_without_ids_get_stable_content_ids():
    df = good_events().drop(columns=[s.EVENT_ID])
    first, _ = validate_events(df, now=NOW)
    again, _ = validate_events(pd.concat([df, df.iloc[[0]]]), now=NOW)
    assert first[s.EVENT_ID].str.startswith("h").all()
    assert again[s.EVENT_ID].tolist() == first[s.EVENT_ID].tolist()  # duplicate row dropped


def test_categorical_text_columns_validate_like_plain_text():
    df = good_events().astype({s.DEVICE_TZ: object, s.ACCOUNT_ID: object})
    df.loc[1, s.DEVICE_TZ] = "  Asia/Shanghai "
    df.loc[2, s.DEVICE_TZ] = "Asia/Atlantis"
    df.loc[0, s.ACCOUNT_ID] = "   "
    plain = validate_events(df, now=NOW)
    coded = validate_events(df.astype({s.DEVICE_TZ: "category", s.ACCOUNT_ID: "category"}),
                            now=NOW)
    assert isinstance(coded[0][s.DEVICE_TZ].dtype, pd.CategoricalDtype)  # never expanded
    as_text = {s.DEVICE_TZ: "str", s.ACCOUNT_ID: "str"}
    pd.testing.assert_frame_equal(coded[0].astype(as_text), plain[0])
    assert coded[1][s.REASON].tolist() == plain[1][s.REASON].tolist() == [
        "account_id: missing account_id", "device_tz: unknown time-zone name"]
    assert coded[0][s.DEVICE_TZ].tolist() == ["Asia/Shanghai"]
    no_ids = df.drop(columns=[s.EVENT_ID])
    plain_ids = validate_events(no_ids, now=NOW)[0][s.EVENT_ID]
    coded_ids = validate_events(no_ids.astype({s.ACCOUNT_ID: "category"}), now=NOW)[0][s.EVENT_ID]
    assert coded_ids.tolist() == plain_ids.tolist()  # a retry is recognised either way


def test_a_good_copy_is_kept_when_the_first_copy_of_its_id_was_set_aside():
    df = good_events()
    df[s.EVENT_ID] = ["e1", "e1", "e3"]
    df[s.LAT] = df[s.LAT].astype(object)
    df.loc[0, s.LAT] = "north"
    clean, quarantine = validate_events(df, now=NOW)
    assert quarantine[s.ROW].tolist() == [0]
    assert quarantine[s.REASON].tolist() == ["lat: not a number"]
    assert clean[s.EVENT_ID].tolist() == ["e1", "e3"]
    assert clean[s.LAT].tolist()[0] == 31.2
