"""The online service's Prometheus metrics: requests by endpoint and status, latency (seconds),
body bytes read, and the scores returned (calibrated probability, band) by model version."""

from __future__ import annotations

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram

from persona_risk.serving.api_responses import AccountScore

# scores are calibrated probabilities and fraud is rare: fine buckets near 0
SCORE_BUCKETS = (.001, .0025, .005, .01, .025, .05, .1, .25, .5, .75, .9, .95, .99, 1)


class Metrics:
    """Prometheus metrics of one app instance; `max_body` (bytes) is the largest body read."""

    def __init__(self, max_body: int):
        self.registry = CollectorRegistry()
        self.requests = Counter("persona_risk_requests", "Requests", ["endpoint", "status"],
                                registry=self.registry)
        self.latency = Histogram("persona_risk_request_seconds", "Request latency", ["endpoint"],
                                 registry=self.registry,
                                 buckets=(.001, .0025, .005, .01, .015, .025, .05, .1, .25, 1))
        self.body_bytes = Histogram("persona_risk_request_body_bytes", "Body bytes read",
                                    ["endpoint"], registry=self.registry,
                                    buckets=(1e3, 1e4, 1e5, max_body, 2**21))
        self.scores = Counter("persona_risk_scores", "Scores returned, by band",
                              ["model_version", "band"], registry=self.registry)
        self.score = Histogram("persona_risk_score", "Scores returned (calibrated probability)",
                               ["model_version"], registry=self.registry, buckets=SCORE_BUCKETS)
        self.model = Gauge("persona_risk_model_info", "Serving model", ["version"],
                           registry=self.registry)

    def record(self, endpoint: str, status: int, seconds: float, body_bytes: int) -> None:
        """Count one response (any status, 500 included), its latency and the body bytes read
        for it."""
        self.latency.labels(endpoint).observe(seconds)
        self.requests.labels(endpoint, str(status)).inc()
        self.body_bytes.labels(endpoint).observe(body_bytes)

    def scored(self, score: AccountScore) -> None:
        """Count one score returned: its band and its value, by model version."""
        self.scores.labels(score.model_version, score.band).inc()
        self.score.labels(score.model_version).observe(score.score)
