"""What an investigation page shows about an account, gathered from one scoring of everyone.

`score_population` computes the features, signals and scores of every account once; `investigate`
then picks one account's sign-ins, record, reasons, band context and cluster from it, so the
pages of a whole band cost one feature pass.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import cached_property

import numpy as np
import pandas as pd

from persona_risk.features import schema as s
from persona_risk.features.allow import ASN, CIDR, DEVICE_ENTRY, AllowList
from persona_risk.features.config import FeatureConfig
from persona_risk.features.pipeline import compute_features
from persona_risk.features.reuse import DEVICE, IPADDR, KEY, KIND, reuse_pairs
from persona_risk.features.travel import HOP_SPEED_KMH
from persona_risk.models.reasons import reason_code, sentence, why
from persona_risk.models.risk_model import RiskModel

MIN_CONTRIBUTION = 0.1  # log-odds: a reason must raise the odds of fraud by about 10% or more
MAX_REASONS = 5


@dataclass
class Population:
    """Features, event signals and scores of every account as of one time."""

    model: RiskModel
    model_version: str
    features: pd.DataFrame
    signals: pd.DataFrame
    scores: pd.DataFrame
    events: pd.DataFrame
    accounts: pd.DataFrame | None
    links: pd.DataFrame  # kind, key, account_id: one row per account on a shared key
    cfg: FeatureConfig  # the model's thresholds and the allow-list the features used

    @cached_property
    def typical(self) -> dict[str, float]:
        """Each feature's median over the accounts (NaN where no account has it)."""
        return self.features[self.model.feature_names].median().to_dict()


@dataclass
class Investigation:
    account_id: str
    summary: dict
    record: dict
    band: dict
    sign_ins: pd.DataFrame  # the account's events with their hop speed and allow reason
    links: list[dict]  # shared keys: kind, key, accounts (the other accounts on it)
    cluster: list[dict]  # linked accounts: account_id, score, band
    contributions: np.ndarray  # TreeSHAP, log-odds, bias last
    x: np.ndarray
    feature_names: list[str]
    allowed: list[dict] = field(default_factory=list)  # allow entries its sign-ins matched


def _links(events: pd.DataFrame, accounts: pd.DataFrame | None,
           allow: AllowList) -> pd.DataFrame:
    """Every (kind, key, account) on a device, IP (not allowed), payout or phone id held by two
    or more accounts."""
    pairs = reuse_pairs(events, allow)
    rows = [pairs.loc[pairs[KIND].isin([DEVICE, IPADDR]), [KIND, KEY, s.ACCOUNT_ID]]]
    if accounts is not None:
        for col in (s.PAYOUT_ID, s.PHONE_ID):
            held = accounts.loc[accounts[col].notna(), [col, s.ACCOUNT_ID]]
            rows.append(pd.DataFrame({KIND: col, KEY: held[col].astype(str),
                                      s.ACCOUNT_ID: held[s.ACCOUNT_ID]}))
    links = pd.concat(rows, ignore_index=True).astype(str).drop_duplicates()
    shared = links.groupby([KIND, KEY])[s.ACCOUNT_ID].transform("size") > 1
    return links[shared].reset_index(drop=True)


def score_population(model: RiskModel, model_version: str, events: pd.DataFrame,
                     accounts: pd.DataFrame | None = None, as_of: pd.Timestamp | None = None,
                     allow: AllowList = AllowList()) -> Population:
    """Features (the model's thresholds, `allow`), signals and scores (with reasons) of every
    account of validated inputs."""
    cfg = model.feature_config(allow)
    result = compute_features(events, accounts, as_of, cfg)
    scores = model.score(result.features).set_index(s.ACCOUNT_ID, drop=False)
    return Population(model, model_version, result.features.set_index(s.ACCOUNT_ID, drop=False),
                      result.signals, scores, events, accounts,
                      _links(events, accounts, allow), cfg)


def _band(pop: Population, margin: float) -> dict:
    """What the band means: thresholds, the false-positive target they were chosen for on
    validation, the model, the population's base rate and this score's log-odds."""
    m = pop.model
    return {"thresholds": dict(m.thresholds), "model_version": pop.model_version,
            "target_fpr": m.info.get("config", {}).get("target_fpr"),
            "validation_cut": m.info.get("val_cut"),
            "expected_fraud_share": float(pop.scores["score"].mean()),
            "high_band_share": float((pop.scores["band"] == "high").mean()),
            "accounts_scored": len(pop.scores), "log_odds": margin,
            "platt_a": m.platt_a, "platt_b": m.platt_b}


def _record(pop: Population, account_id: str) -> dict:
    if pop.accounts is None:
        return {}
    me = pop.accounts[pop.accounts[s.ACCOUNT_ID] == account_id]
    if me.empty:
        return {}
    cols = [c for c in s.names(s.ACCOUNT_COLUMNS)
            if c in me.columns and c not in (s.ACCOUNT_ID, *s.TRAINING_ONLY)]  # no truth
    return {c: (None if pd.isna(v) else v) for c, v in me.iloc[0][cols].items()}


def _cluster(pop: Population, account_id: str) -> tuple[list[dict], list[dict]]:
    links = pop.links
    mine = links.loc[links[s.ACCOUNT_ID] == account_id, [KIND, KEY]]
    tied = links.merge(mine, on=[KIND, KEY])
    tied = tied[tied[s.ACCOUNT_ID] != account_id]
    shared = [{"kind": kind, "key": key, "accounts": sorted(group[s.ACCOUNT_ID])}
              for (kind, key), group in tied.groupby([KIND, KEY], sort=True)]
    others = sorted(set(tied[s.ACCOUNT_ID]) & set(pop.scores.index))
    cluster = [{"account_id": a, "score": float(pop.scores.at[a, "score"]),
                "band": pop.scores.at[a, "band"]} for a in others]
    return shared, sorted(cluster, key=lambda c: -c["score"])


def _reasons(pop: Population, account_id: str, contributions: np.ndarray,
             x: np.ndarray) -> list[dict]:
    """The known features that raise this score by MIN_CONTRIBUTION or more, largest first."""
    context = pop.features.loc[account_id].to_dict()
    out = []
    for i in np.argsort(-contributions, kind="stable")[:MAX_REASONS]:
        if contributions[i] < MIN_CONTRIBUTION:
            break
        if np.isnan(x[i]):  # a missing value is never a reason
            continue
        name = pop.model.feature_names[i]
        out.append({"code": reason_code(name), "feature": name, "value": float(x[i]),
                    "contribution": float(contributions[i]),
                    "text": sentence(name, x[i], context, pop.cfg),
                    "why": why(name, x[i], pop.cfg, pop.typical[name])})
    return out


_NETWORK = "left out of the IP and network reuse counts and of travel hops"
EFFECT = {CIDR: _NETWORK, ASN: _NETWORK,
          DEVICE_ENTRY: "left out of the device reuse counts and of clusters"}


def _allowed(sign_ins: pd.DataFrame, allow: AllowList) -> tuple[list[str], list[dict]]:
    """Per sign-in the reasons of the allow entries it matches ('' for none), and per entry
    matched: kind, value, reason, how many sign-ins, what it leaves out."""
    network, device = allow.event_matches(sign_ins)
    matched = [[allow.entries[i] for i in (n, d) if i >= 0]
               for n, d in zip(network, device, strict=True)]
    texts = ["; ".join(f"{e.kind} {e.value}: {e.reason}" for e in m) for m in matched]
    counts = pd.Series([e for m in matched for e in m], dtype=object).value_counts(sort=False)
    entries = [{"kind": e.kind, "value": e.value, "reason": e.reason, "sign_ins": int(n),
                "effect": EFFECT[e.kind]} for e, n in counts.items()]
    return texts, entries


def investigate(pop: Population, account_id: str) -> Investigation:
    """Everything the page of `account_id` shows; KeyError when it was not scored."""
    if account_id not in pop.scores.index:
        raise KeyError(f"account_id {account_id!r} has no events or record as of the cut")
    x = pop.model.matrix(pop.features.loc[[account_id]])
    contributions = pop.model.contributions(x)[0]
    margin = float(pop.model.margin(x)[0])
    scored = pop.scores.loc[account_id]
    reasons = _reasons(pop, account_id, contributions[:-1], x[0])
    summary = {"account_id": account_id, "score": float(scored["score"]),
               "band": scored["band"], "as_of": str(pop.features.at[account_id, s.AS_OF]),
               "reasons": reasons}
    sign_ins = pop.events[pop.events[s.ACCOUNT_ID] == account_id]
    hops = pop.signals.loc[pop.signals[s.ACCOUNT_ID] == account_id, [s.EVENT_ID, HOP_SPEED_KMH]]
    sign_ins = sign_ins.merge(hops, on=s.EVENT_ID, how="left").sort_values(
        [s.TS, s.EVENT_ID]).reset_index(drop=True)
    sign_ins["allowed"], allowed = _allowed(sign_ins, pop.cfg.allow)
    links, cluster = _cluster(pop, account_id)
    return Investigation(account_id, summary, _record(pop, account_id), _band(pop, margin),
                         sign_ins, links, cluster, contributions, x[0],
                         pop.model.feature_names, allowed)
