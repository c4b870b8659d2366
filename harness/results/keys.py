"""Figure keys and steps as types, parsed once, with the strings stored on disk unchanged.

A figure is one metric of one target × scenario × step; a step label is "" for a whole trial,
"users=64" or "ms=20,users=32" for one load step, and "users=4,endpoint=GET /users" for one request
name within a step (the step's other rows are its aggregate, HistogramRecord.endpoint "Aggregated").
`Step` is a `str`, so it compares, sorts, hashes and serialises as the label it was made from.
"""

from __future__ import annotations

from typing import Any, NamedTuple

AGGREGATE = "Aggregated"  # the endpoint name of a step's aggregate histogram (as Locust names it)
ENDPOINT_KEY = "endpoint"
CENSORED_SUFFIX = "_censored"  # M_censored = 1: M's stored value is only a lower bound (docs/formats.md)
UPPER_BOUND_SUFFIX = "_upper_bound"  # M_upper_bound = 1: M's stored value is only an upper bound


class Step(str):
    """A step label with its parts: `Step("ms=20,users=32").params == {"ms": 20.0, "users": 32.0}`."""

    __slots__ = ()

    @property
    def params(self) -> dict[str, float | str]:
        """'ms=20,users=32' -> {'ms': 20.0, 'users': 32.0}; '' -> {}; non-numbers stay strings."""
        params: dict[str, float | str] = step_params(self.load_step)
        if self.endpoint is not None:
            params[ENDPOINT_KEY] = self.endpoint
        return params

    @property
    def endpoint(self) -> str | None:
        """The request name of a per-endpoint row; None for a step's aggregate or a whole trial."""
        marker = f"{ENDPOINT_KEY}="
        if self.startswith(marker):
            return self[len(marker):]
        _, found, name = self.partition(f",{marker}")
        return name if found else None

    @property
    def is_endpoint(self) -> bool:
        return self.endpoint is not None

    @property
    def load_step(self) -> Step:
        """The load step a row belongs to: the label without its endpoint part (a trial flag's step)."""
        marker = f"{ENDPOINT_KEY}="
        if self.startswith(marker):
            return Step("")
        return Step(self.partition(f",{marker}")[0])

    @property
    def users(self) -> float | None:
        users = self.params.get("users")
        return users if isinstance(users, float) else None

    def sort_key(self) -> tuple[float, ...]:
        """Numeric order of the parameters' values ("users=8" before "users=64"), 0 for a non-number."""
        return tuple(v if isinstance(v, float) else 0.0 for v in step_params(self).values()) if self else (0.0,)


class FigureKey(NamedTuple):
    """Where one figure of a run is: equal to the plain tuple (target, scenario, step, metric)."""

    target: str
    scenario: str
    step: Step
    metric: str

    @classmethod
    def of(cls, target: str, scenario: str, step: str, metric: str) -> FigureKey:
        return cls(target, scenario, Step(step), metric)

    @property
    def censored_key(self) -> FigureKey:
        """The key of this figure's companion M_censored."""
        return self._replace(metric=self.metric + CENSORED_SUFFIX)

    @property
    def upper_bound_key(self) -> FigureKey:
        """The key of this figure's companion M_upper_bound."""
        return self._replace(metric=self.metric + UPPER_BOUND_SUFFIX)

    @property
    def where(self) -> str:
        """"crud users=4 rps", "cold_start cold_start_ms"."""
        return " ".join(p for p in (self.scenario, self.step, self.metric) if p)


def step_params(step: str) -> dict[str, float | str]:
    """'ms=20,users=32' -> {'ms': 20.0, 'users': 32.0}; '' -> {}; non-numbers stay strings."""
    if not step:
        return {}
    return {key: _number_or_text(value) for key, value in (part.split("=", 1) for part in step.split(","))}


def _number_or_text(text: str) -> float | str:
    try:
        return float(text)
    except ValueError:
        return text


def step_label(params: dict[str, Any]) -> str:
    """{'users': 32, 'ms': 20} -> 'ms=20,users=32': a load step's label, its parameters in name order."""
    return ",".join(f"{key}={params[key]}" for key in sorted(params))


def endpoint_step(step: str, endpoint: str) -> str:
    """The label of one request name's rows within a load step ('users=4,endpoint=GET /users'); the
    aggregate's rows (endpoint AGGREGATE) carry the step's own label."""
    return step if endpoint == AGGREGATE else f"{step},{ENDPOINT_KEY}={endpoint}"


def is_endpoint_step(step: str) -> bool:
    """Whether a stored step label is a per-endpoint row (for the measuring side, which writes them)."""
    return Step(step).is_endpoint
