"""The online service's 422 replies, each shaped as a request validation error (`loc`, `msg`,
`type`) naming the field, and never carrying the value sent."""

from __future__ import annotations

import pandas as pd
from fastapi import HTTPException

from persona_risk.features import schema as s
from persona_risk.serving.api_responses import Rejected


def _safe_text(value) -> str:
    return str(value).encode("utf-8", "backslashreplace").decode()


def problem(error: dict) -> dict:
    """A request validation error as its place and reason, without the input value (which
    may be an id, an IP, or not serialisable at all: NaN, a lone surrogate)."""
    return {"loc": [p if isinstance(p, int) else _safe_text(p) for p in error["loc"]],
            "msg": _safe_text(error["msg"]), "type": error["type"]}


def rejections(quarantine: pd.DataFrame) -> list[Rejected]:
    """A request's set-aside events (`features.validate`'s quarantine) as reply items."""
    if quarantine.empty:  # most requests: no column is read
        return []
    return [Rejected(row=int(r), reason=q) for r, q in
            zip(quarantine[s.ROW], quarantine[s.REASON], strict=True)]


def invalid_account(err: ValueError, fields: list, account_id: list) -> HTTPException:
    """The 422 of an account record that fails validation, naming the field where the request
    holds it: the record's fields under `fields`, its id under `account_id` (the path in PUT,
    the first event in a score), as the request model's own refusals place them."""
    column = getattr(err, "column", "account")
    place = [*(account_id if column == s.ACCOUNT_ID else fields), column]
    return HTTPException(422, [{"loc": place, "msg": str(err), "type": "value_error"}])


def invalid_decision(err: ValueError) -> HTTPException:
    """The 422 of a decision `record_decision` refused, naming the field (its message's
    `field: reason`)."""
    field_name = str(err).split(":")[0]
    place = ["path", field_name] if field_name == s.ACCOUNT_ID else ["body", field_name]
    return HTTPException(422, [{"loc": place, "msg": str(err), "type": "value_error"}])


def unreadable(quarantine: pd.DataFrame) -> HTTPException:
    """The 422 of a request none of whose events could be read: each rejected row with its
    place, the field and the reason."""
    return HTTPException(422, [
        {"loc": ["body", "events", r.row, r.reason.split(":")[0]], "msg": r.reason,
         "type": "rejected_row"} for r in rejections(quarantine)])
