"""Each bad input gets a clear error naming the field and row, or a quarantine reason."""

from __future__ import annotations

import os
from datetime import UTC, datetime

import pandas as pd
import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from persona_risk.features import schema as s
from persona_risk.features.validate import SchemaError, validate_accounts, validate_events

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
    (s.CLAIMED_TIMEZONE, "Factory", "unknown time-zone name", 1),
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


def planted(df: pd.DataFrame, column: str, row: int, value) -> pd.DataFrame:
    """`df` with `value` in `column` at `row` (a latitude gets a valid longitude beside it)."""
    df[column] = df[column].astype(object) if column in df else None
    df.loc[row, column] = value
    partner = {s.LAT: s.LON, s.CLAIMED_LAT: s.CLAIMED_LON}.get(column)
    if partner:
        df.loc[row, partner] = 0.0
    return df


@pytest.mark.parametrize(("column", "value", "reason"), [
    (s.TS, "yesterday-ish", "ts: missing or unparsable timestamp"),
    (s.TS, "2027-01-01T00:00:00Z", "ts: timestamp in the future"),
    (s.LAT, 123.0, "lat: latitude outside [-90, 90]"),
    (s.LON, "far", "lon: not a number"),
    (s.DEVICE_TZ, "Asia/Atlantis", "device_tz: unknown time-zone name"),
    (s.DEVICE_TZ, "localtime", "device_tz: unknown time-zone name"),  # the host's own zone
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


def test_input_columns_named_like_the_quarantine_s_own_are_kept_beside_them():
    """A probe: an export with a `reason` column crashed validation of any bad row."""
    df = good_events().assign(reason=["a", "b", "c"], row=[7, 8, 9], file=["f", "g", "h"])
    df.loc[1, s.TS] = "not a time"
    clean, quarantine = validate_events(df, now=NOW)
    assert quarantine[[s.ROW, "input_row", "input_reason", "input_file"]].values.tolist() == [
        [1, "8", "b", "g"]]
    assert quarantine[s.REASON].str.startswith("ts:").all() and len(clean) == 2


def test_blank_numbers_are_missing_and_a_trailing_utc_is_a_zone():
    """A probe: exports that write absent numbers as "" lost every row, and BigQuery's
    `2026-01-05 00:00:00 UTC` was unreadable."""
    df = good_events().astype(object)
    df[s.ASN] = ["", " ", "7922"]
    df.loc[2, [s.LAT, s.LON]] = ["", ""]
    df.loc[1, s.TS] = "2026-02-01 09:00:00 UTC"
    clean, quarantine = validate_events(df, now=NOW)
    assert quarantine.empty
    got = clean.set_index(s.EVENT_ID)
    assert got.loc["e2", s.TS] == pd.Timestamp("2026-02-01T09:00:00", tz="UTC")
    assert got[s.ASN].isna().tolist() == [True, True, False]


def test_an_ip_is_kept_in_one_spelling():
    """A probe: one IPv6 address written three ways counted as three IPs, and IPv4-mapped
    addresses of unrelated networks shared the prefix ::/64."""
    df = pd.concat([good_events()] * 2, ignore_index=True)
    df[s.EVENT_ID] = [f"e{i}" for i in range(6)]
    df[s.IP] = ["2001:DB8::1", "2001:0db8:0000::0001", "::ffff:1.2.3.4", "1.2.3.4", None, "x"]
    for ips in (df[s.IP], df[s.IP].astype("category")):
        clean, quarantine = validate_events(df.assign(**{s.IP: ips}), now=NOW)
        got = clean.set_index(s.EVENT_ID)[s.IP]
        assert got.iloc[:4].tolist() == ["2001:db8::1", "2001:db8::1", "1.2.3.4", "1.2.3.4"]
        assert got.isna().tolist() == [False] * 4 + [True]
        assert quarantine[s.ROW].tolist() == [5]


def test_wrong_types_in_optional_columns():
    df = good_events().assign(**{s.SUCCESS: ["yes", "maybe", "0"], s.ASN: ["7922", "1.5", None]})
    clean, quarantine = validate_events(df, now=NOW)
    assert quarantine[s.REASON].tolist() == ["asn: not an integer from 0 to 4294967295"]
    assert clean.set_index(s.EVENT_ID).loc["e3", s.SUCCESS] == False  # noqa: E712


def test_booleans_read_as_numbers_are_kept():
    """Found by the property: 0/1 read as floats (a CSV column with blanks) were all "not a
    boolean", and one 0.0 beside False set the False rows aside too (`pd.factorize` merges
    equal values of different types)."""
    df = good_events().assign(**{s.SUCCESS: [1.0, 0.0, None],
                                 s.INTERACTIVE: pd.Series([0.0, False, True], dtype=object)})
    clean, quarantine = validate_events(df, now=NOW)
    assert quarantine.empty
    assert clean[s.SUCCESS].tolist() == [True, False, True]  # missing: the default
    assert clean[s.INTERACTIVE].tolist() == [False, False, True]


def test_events_without_ids_get_stable_content_ids():
    df = good_events().drop(columns=[s.EVENT_ID])
    first, _ = validate_events(df, now=NOW)
    again, _ = validate_events(pd.concat([df, df.iloc[[0]]]), now=NOW)
    assert first[s.EVENT_ID].str.startswith("h").all()
    assert again[s.EVENT_ID].tolist() == first[s.EVENT_ID].tolist()  # duplicate row dropped


def test_events_without_ids_that_differ_in_any_field_stay_two_events():
    """A failed then a successful sign-in in the same second, from the same IP and device."""
    row = good_events().drop(columns=[s.EVENT_ID]).iloc[[0]]
    for column, other in [(s.SUCCESS, False), (s.DEVICE_TZ, "Europe/London"),
                          (s.USER_AGENT, "curl/8")]:
        pair = pd.concat([row.assign(**{column: True if column == s.SUCCESS else None}),
                          row.assign(**{column: other})])
        clean, quarantine = validate_events(pair, now=NOW)
        assert len(clean) == 2 and quarantine.empty, column
        assert clean[s.EVENT_ID].nunique() == 2


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


@pytest.mark.parametrize(("column", "value", "reason"), [
    # finding 1, 2, 8: outside pandas' nanosecond range, or before 1970
    (s.TS, "0001-01-01T00:00:00Z", "ts: timestamp before 1970-01-01"),
    (s.TS, "1600-01-01T00:00:00Z", "ts: timestamp before 1970-01-01"),
    (s.TS, "1677-09-21T00:12:44Z", "ts: timestamp before 1970-01-01"),
    (s.TS, "2263-01-01T00:00:00Z", "ts: timestamp in the future"),
    (s.TS, "9999-12-31T23:59:59Z", "ts: timestamp in the future"),
    (s.TS, pd.Timestamp("3000-01-01").to_pydatetime(), "ts: timestamp in the future"),
    # finding 3, 4: numbers out of range
    (s.ASN, 2**63, "asn: not an integer from 0 to 4294967295"),
    (s.ASN, float("inf"), "asn: not an integer from 0 to 4294967295"),
    (s.LAT, float("inf"), "lat: latitude outside [-90, 90]"),
    (s.LAT, "1e999", "lat: latitude outside [-90, 90]"),
    # finding 10: unchecked fields
    (s.IP, "999.1.1.1", "ip: not an IPv4 or IPv6 address"),
    (s.IP, "not-an-ip", "ip: not an IPv4 or IPv6 address"),
    (s.IP, "fe80::1%eth0", "ip: not an IPv4 or IPv6 address"),
    (s.COUNTRY, "zz", "country: not an ISO 3166-1 alpha-2 code"),
    (s.ACCOUNT_ID, "a\x00b", "account_id: control, format or unassigned characters"),
    (s.ACCOUNT_ID, "a\u202eb", "account_id: control, format or unassigned characters"),
    (s.ACCOUNT_ID, "a\ud800b", "account_id: control, format or unassigned characters"),
    (s.ACCOUNT_ID, "x" * 201, "account_id: longer than 200 characters"),
    (s.EVENT_ID, "e\u2066", "event_id: control, format or unassigned characters"),
    (s.DEVICE_ID, "d" * 10_000, "device_id: longer than 200 characters"),
])
def test_hostile_values_are_set_aside_with_their_field(column, value, reason):
    df = planted(good_events(), column, 2, value)
    clean, quarantine = validate_events(df, now=NOW)
    assert quarantine[s.REASON].tolist() == [reason]
    assert quarantine[s.ROW].tolist() == [2]
    assert clean[s.EVENT_ID].tolist() == ["e1", "e2"]


def test_good_ips_and_countries_are_kept():
    df = good_events().assign(**{s.IP: ["203.0.113.9", "2001:db8::1", "::ffff:192.0.2.1"],
                                 s.COUNTRY: ["us", "XK", "cn"]})
    clean, quarantine = validate_events(df, now=NOW)
    assert quarantine.empty and clean[s.COUNTRY].tolist() == ["US", "XK", "CN"]


def test_out_of_range_timestamp_columns_of_any_unit_are_set_aside():
    """Finding 8: one year-3000 value in a Parquet `timestamp[us]` column sank the run."""
    df = good_events()
    df[s.TS] = pd.to_datetime(df[s.TS], utc=True).dt.tz_localize(None).astype("datetime64[us]")
    df[s.TS] = df[s.TS].where(df.index != 1, pd.Timestamp("3000-01-01").as_unit("us"))
    clean, quarantine = validate_events(df, now=NOW)
    assert quarantine[[s.ROW, s.REASON]].values.tolist() == [[1, "ts: timestamp in the future"]]
    assert str(clean[s.TS].dtype) == "datetime64[ns, UTC]" and len(clean) == 2


def test_epoch_numbers_are_not_guessed_as_timestamps():
    df = good_events().assign(**{s.TS: [1_769_940_000, 1_769_936_400, 1_770_026_400]})
    clean, quarantine = validate_events(df, now=NOW)
    assert clean.empty and set(quarantine[s.REASON]) == {"ts: a number, not an ISO-8601 timestamp"}


@pytest.mark.parametrize(("column", "value", "problem"), [
    (s.CREATED_AT, "0001-01-01T00:00:00Z", "timestamp before 1970-01-01"),
    (s.CREATED_AT, "9999-01-01T00:00:00Z", "timestamp in the future"),
    (s.ACCOUNT_ID, "y" * 10_000, "longer than 200 characters"),
    (s.ACCOUNT_ID, "a\ud800b", "control, format or unassigned characters"),
    (s.CLAIMED_COUNTRY, "ZZ", "not an ISO 3166-1 alpha-2 code"),
    (s.CLAIMED_LAT, float("inf"), "latitude outside"),
])
def test_hostile_account_values_name_column_and_row(column, value, problem):
    df = planted(good_accounts(), column, 1, value)
    with pytest.raises(SchemaError) as err:
        validate_accounts(df)
    assert err.value.column == column and err.value.rows == [1] and problem in str(err.value)


# -- the property: no value of any JSON or Parquet type makes validation raise or lose a good row
FUZZ_EXAMPLES = int(os.environ.get("PERSONA_RISK_FUZZ_EXAMPLES", "2000"))
ANY_TEXT = st.text(st.characters(exclude_categories=()), max_size=40) | st.text(max_size=300)
ANY_SCALAR = (st.none() | st.booleans() | st.integers() | st.floats() | ANY_TEXT
              | st.datetimes(timezones=st.none() | st.just(UTC)))
GOOD_TEXT = st.text(st.characters(min_codepoint=33, max_codepoint=126), min_size=1, max_size=30)
GOOD_TS = st.datetimes(datetime(1970, 1, 2), datetime(2026, 2, 28))  # any offset: after 1970
GOOD_LAT_LON = st.tuples(st.floats(-90, 90), st.floats(-180, 180))
GOOD = {
    s.ACCOUNT_ID: GOOD_TEXT, s.TS: GOOD_TS,
    s.IP: st.none() | st.ip_addresses().map(str),
    s.COUNTRY: st.none() | st.sampled_from(["US", "cn", "DE", "KP"]),
    s.DEVICE_ID: st.none() | GOOD_TEXT,
    s.USER_AGENT: st.none() | st.text(  # printable: no control, format, unassigned or separator
        st.characters(exclude_categories=("C", "Z"), include_characters=" "), max_size=100),
    s.DEVICE_TZ: st.none() | st.sampled_from(["Asia/Shanghai", "UTC", "America/New_York"]),
    s.SUCCESS: st.none() | st.booleans(), s.INTERACTIVE: st.none() | st.booleans(),
    s.ANONYMIZER: st.none() | st.booleans(), s.ASN: st.none() | st.integers(0, 2**32 - 1),
    s.LAT: st.none() | GOOD_LAT_LON,  # and lon
    s.TS + "_suffix": st.sampled_from(["", "Z", "+02:00"]),
}
GOOD_ROW = st.fixed_dictionaries(GOOD)
EVENT_FIELDS = sorted([*GOOD.keys() - {s.TS + "_suffix"}, s.LON, s.EVENT_ID])
BAD_FIELDS = st.sets(st.sampled_from(EVENT_FIELDS), min_size=1)
TYPED = {  # whole columns of one Parquet type: (dtype, good values, any value of the type)
    s.TS: ("datetime64[us]", GOOD_TS, st.datetimes()),
    s.LAT: ("float64", GOOD_LAT_LON, st.tuples(st.floats(), st.floats())),  # and lon
    s.ASN: ("int64", st.integers(0, 2**32 - 1), st.integers(-2**63, 2**63 - 1)),
    s.ACCOUNT_ID: ("category", GOOD_TEXT, st.text(max_size=300)),
}
TYPED_COLUMNS = st.sets(st.sampled_from(sorted(TYPED)))


@st.composite
def event_tables(draw) -> tuple[pd.DataFrame, list[str]]:
    """A table of good rows (ids `good-<n>`) and rows of arbitrary values (ids `bad-<n>` unless
    drawn), mixed, with some columns of one Parquet type; returns it and the good rows' ids in
    order. Strategies are built once, at import: drawing is most of an example's cost."""
    typed = draw(TYPED_COLUMNS)
    rows, good_ids = [], []
    for i in range(draw(st.integers(1, 5))):
        good = draw(st.booleans())
        row = draw(GOOD_ROW)
        row[s.LAT], row[s.LON] = row[s.LAT] or (None, None)
        row[s.TS] = row[s.TS].isoformat() + row.pop(s.TS + "_suffix")
        row[s.EVENT_ID] = f"good-{i}" if good else f"bad-{i}"
        if good:
            good_ids.append(row[s.EVENT_ID])
        else:
            for col in draw(BAD_FIELDS):
                row[col] = draw(ANY_SCALAR)
        for col in typed:
            dtype, good_values, any_value = TYPED[col]
            row[col] = draw(good_values if good else any_value)
            if col == s.LAT:
                row[s.LAT], row[s.LON] = row[s.LAT]
        rows.append(row)
    df = pd.DataFrame(rows, dtype=object)
    for col in typed:
        dtype = TYPED[col][0]
        for name in (col, s.LON) if col == s.LAT else (col,):
            df[name] = (pd.Series(list(df[name]), dtype=dtype) if dtype.startswith("date")
                        else df[name].astype(dtype))
    return df, good_ids


@pytest.mark.slow
@settings(max_examples=FUZZ_EXAMPLES, derandomize=True, database=None, deadline=None,
          suppress_health_check=[HealthCheck.too_slow])
@given(event_tables())
def test_no_value_raises_or_costs_a_good_row(table):
    """At least 2,000 examples in the suite (about 40 ms of CPU each);
    PERSONA_RISK_FUZZ_EXAMPLES for more."""
    df, good_ids = table
    ids = [str(v) for v in df[s.EVENT_ID]]
    assume(sorted(i for i in ids if i in good_ids) == good_ids)  # no drawn id is a good row's
    clean, quarantine = validate_events(df, now=NOW)
    kept = [i for i in clean[s.EVENT_ID] if str(i).startswith("good-")]
    assert [i for i in kept if i in good_ids] == good_ids
    assert len(clean) + len(quarantine) == len(df)
    assert quarantine[s.REASON].str.split(":").str[0].isin(s.names(s.EVENT_COLUMNS)).all()
    assert str(clean[s.TS].dtype) == "datetime64[ns, UTC]"


def test_labels_may_be_missing_and_labelled_at_is_checked():
    raw = pd.DataFrame({"account_id": ["a", "b", "c"], "created_at": ["2026-01-01"] * 3,
                        "label": [1, None, 0],
                        "labelled_at": ["2026-02-01T00:00:00Z", None, "2026-02-03"]})
    acc = validate_accounts(raw)
    assert acc["label"].isna().tolist() == [False, True, False]
    assert acc["labelled_at"].isna().tolist() == [False, True, False]
    with pytest.raises(SchemaError, match="label must be 0, 1, true, false or empty"):
        validate_accounts(raw.assign(label=[1, 2, 0]))
    with pytest.raises(SchemaError, match=r"label must .* \(first offending rows: \[1\]\)"):
        validate_accounts(raw.assign(label=["1", "maybe", "0"]))
    as_text = validate_accounts(raw.assign(label=["TRUE", "", "false"]))  # as exports write them
    assert as_text["label"].tolist()[::2] == [1.0, 0.0] and as_text["label"].isna().tolist()[1]
    with pytest.raises(SchemaError, match="labelled_at"):
        validate_accounts(raw.assign(labelled_at=["soon", None, "2026-02-03"]))


def test_a_chunk_checks_only_the_categories_it_uses():
    """A chunk of a Parquet file carries the whole file's dictionary: values of other chunks
    are neither checked nor counted against it."""
    from persona_risk.features.checks import bad_ips

    ips = pd.Categorical(["1.2.3.4", "2001:db8::1"], categories=["not an ip", "1.2.3.4",
                                                                  "2001:db8::1", "::zz"])
    assert bad_ips(pd.Series(ips)).tolist() == [False, False]
    some_bad = pd.Categorical(["::zz", None, "1.2.3.4"], categories=ips.categories)
    assert bad_ips(pd.Series(some_bad)).tolist() == [True, False, False]
