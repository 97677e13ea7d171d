"""Event streams for the properties that compare implementations of the features: accounts,
raw events in arrival order (out of time order, repeated event ids, shared devices, IPs, payout
and phone ids, accounts created after their sign-ins or with no record), `as_of` and how the
stream arrives online."""

from __future__ import annotations

import pandas as pd
from hypothesis import strategies as st

from persona_risk.features import schema as s
from persona_risk.features.allow import AllowEntry, AllowList
from persona_risk.features.config import FeatureConfig

START = pd.Timestamp("2026-03-01", tz="UTC")
NOW = START + pd.Timedelta(days=10)  # the validators' "now": every event is in the past
PLACES = [(40.71, -74.01, "US"), (42.36, -71.06, "US"), (31.23, 121.47, "CN"),
          (55.75, 37.62, "RU"), (51.51, -0.13, "GB"), (None, None, None)]
ZONES = ["America/New_York", "Asia/Shanghai", "Europe/London", None]
# one range covers part of a /24
ALLOWED = [AllowEntry("cidr", "1.2.3.0/29", "office"), AllowEntry("cidr", "2001:db8::/48", "v6"),
           AllowEntry("asn", "64500", "remote desktop"), AllowEntry("device", "d3", "kiosk")]


@st.composite
def streams(draw) -> dict:
    """Accounts, raw events (in arrival order), `as_of` (None: the last event), per account
    record the number of events that arrive before it (online), and the feature settings with
    an allow-list of IP ranges, ASNs and devices (`cfg`)."""
    n_accounts = draw(st.integers(1, 5))
    hours = 24 * 3  # events fall in three days from START
    accounts = pd.DataFrame({
        s.ACCOUNT_ID: [f"a{i}" for i in range(n_accounts)],
        # before the events, between them (signed in before the record) or after them all
        s.CREATED_AT: [START + pd.Timedelta(hours=draw(st.integers(-24 * 40, hours + 24)))
                       for _ in range(n_accounts)],
        s.CLAIMED_TIMEZONE: [draw(st.sampled_from(ZONES)) for _ in range(n_accounts)],
        s.CLAIMED_LAT: 40.71, s.CLAIMED_LON: -74.01,
        s.PAYOUT_ID: [draw(st.sampled_from(["p1", "p2", None])) for _ in range(n_accounts)],
        s.PHONE_ID: [draw(st.sampled_from(["t1", "t2", None])) for _ in range(n_accounts)],
    })
    rows = []
    for i in range(draw(st.integers(1, 25))):
        lat, lon, country = draw(st.sampled_from(PLACES))
        rows.append({
            s.EVENT_ID: f"e{draw(st.integers(0, 30))}" if draw(st.booleans()) else f"u{i}",
            s.ACCOUNT_ID: f"a{draw(st.integers(0, n_accounts))}",  # a{n}: no record at all
            s.TS: START + pd.Timedelta(minutes=draw(st.integers(0, 60 * hours))),
            s.IP: draw(st.sampled_from(["1.2.3.4", "1.2.3.9", "5.6.7.8", "2001:db8::1", None])),
            s.LAT: lat, s.LON: lon, s.COUNTRY: country,
            s.DEVICE_ID: draw(st.sampled_from(["d1", "d2", "d3", None])),
            s.DEVICE_TZ: draw(st.sampled_from(ZONES)),
            s.SUCCESS: draw(st.booleans()), s.INTERACTIVE: draw(st.booleans()),
            s.ANONYMIZER: draw(st.booleans()),
            s.ASN: draw(st.sampled_from([None, 64500, 64501])),
        })
    events = pd.DataFrame(rows)
    as_of = draw(st.none() | st.integers(0, 60 * hours).map(
        lambda m: START + pd.Timedelta(minutes=m)))
    arrive_after = [draw(st.integers(0, len(events))) for _ in range(n_accounts)]
    chunks = draw(st.lists(st.integers(1, 5), min_size=1, max_size=10))
    allow = AllowList(tuple(draw(st.lists(st.sampled_from(ALLOWED), max_size=3, unique=True))))
    return {"accounts": accounts, "events": events, "as_of": as_of,
            "arrive_after": arrive_after, "chunks": chunks, "cfg": FeatureConfig(allow=allow)}
