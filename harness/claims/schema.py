"""The claims file (claims.toml): its model, validated by pydantic, and its loader.

Each check names the figures it needs (Place: scenario, step selector, metric) and the range a
claim gives them; harness.claims.judge decides them against a run. Policy defaults come from the
flag registry (harness.flags): the flags that block a verdict unless the file says otherwise.
"""

from __future__ import annotations

import tomllib
from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from harness.errors import BenchError
from harness.flags import BY_NAME, blocking_defaults
from harness.numbers import number as fmt

DEFAULT_CLAIMS = Path(__file__).resolve().parent.parent.parent / "claims.toml"
# "by inspection": a reading of the source code stated in the claims file (a code check), not a measurement
VERDICTS = ("supported", "partly supported", "refuted", "inconclusive", "not checkable", "by inspection")
BY_INSPECTION = "by inspection"
Verdict = Literal["supported", "refuted", "inconclusive", "not checkable"]  # of one check (a code check's)


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class Policy(_Strict):
    # a figure of fewer than 3 trials has no CI: by default it decides nothing
    single_trial: Literal["point", "inconclusive"] = "inconclusive"
    blocking_flags: list[str] = Field(default_factory=blocking_defaults)
    # a contender's bare runtime (a baseline target): the framework's cost over it is machine-independent
    baselines: dict[str, str] = Field(default_factory=dict)
    # an absolute figure whose median lies within this fraction of a range's edge (or within its CI's
    # width) would likely be judged otherwise on a faster or slower machine
    near_edge_fraction: float = Field(default=0.15, ge=0, le=1)


class _Check(_Strict):
    reading: str = "main"  # an alternative definition of the claim; the first one decides
    part: str = ""  # one statement of a claim with several (P4: "Express's range"); judged on its own


class _Bounds(_Check):
    min: float | None = None
    max: float | None = None

    @model_validator(mode="after")
    def _some_bound(self) -> _Bounds:
        if self.min is None and self.max is None:
            raise ValueError("give min, max or both")
        if self.min is not None and self.max is not None and self.min > self.max:
            raise ValueError(f"min {self.min} is above max {self.max}")
        return self


class _Unaffected(_Strict):
    # Flags that do not bear on this figure (P6's memory spread does not depend on which side limited the
    # rate), ignored for it with the reason stated: a blocking flag otherwise blocks every figure it marks.
    unaffected_by: list[str] = Field(default_factory=list)
    unaffected_reason: str = ""

    @model_validator(mode="after")
    def _unaffected_needs_reason(self) -> _Unaffected:
        unknown = [name for name in self.unaffected_by if name not in BY_NAME]
        if unknown:
            raise ValueError(f"unaffected_by names unknown flags: {', '.join(unknown)}")
        if self.unaffected_by and not self.unaffected_reason.strip():
            raise ValueError("unaffected_by needs unaffected_reason: why those flags do not bear on the figure")
        return self


class Needs(_Strict):
    """What a run's profile must give a scenario for a check to be judged (P6: a hold holding several full
    garbage collections); a profile that gives less says "not checked by this profile" and names one
    that carries it (harness.claims.scope)."""

    duration_s: float | None = Field(default=None, gt=0)  # the measured window of each step, at least
    trials: int | None = Field(default=None, ge=1)  # trials per target, at least
    why: str = Field(min_length=1)  # what the figure needs them for

    @model_validator(mode="after")
    def _something_needed(self) -> Needs:
        if self.duration_s is None and self.trials is None:
            raise ValueError("give duration_s, trials or both")
        return self

    def text(self) -> str:
        """"a hold of at least 60 s and at least 3 trials"."""
        wanted = [f"a hold of at least {fmt(self.duration_s)} s" if self.duration_s else "",
                  f"at least {self.trials} trials" if self.trials else ""]
        return " and ".join(w for w in wanted if w)


class Place(_Unaffected):
    """Where a figure is read: a scenario, a step selector, a metric."""

    scenario: str
    step: str = ""  # "" whole trial; "users=64"; "ms=20,users=max" (max/min pick the extreme step)
    metric: str
    transform: Literal["none", "abs"] = "none"
    quantized: str | None = None  # the step parameter whose values the metric can only take, e.g. "users"
    needs: Needs | None = None  # the hold and trials a verdict needs; a shorter profile does not judge it


class RangeCheck(_Bounds, Place):
    type: Literal["range"]
    target: str

    def expected(self) -> str:
        return f"{self.target} {self.metric} {range_text(self.min, self.max)}"


class RatioCheck(_Bounds, Place):
    type: Literal["ratio"]
    numerator: str
    denominator: str

    def expected(self) -> str:
        return f"{self.numerator}/{self.denominator} {self.metric} {range_text(self.min, self.max)}"


class CompareCheck(_Check, Place):
    type: Literal["compare"]
    lower: str  # the target claimed to have the lower figure
    higher: str

    def expected(self) -> str:
        absolute = "|" if self.transform == "abs" else ""
        return f"{self.lower} {absolute}{self.metric}{absolute} < {self.higher}'s"


class GapPlace(_Unaffected):
    scenario: str
    step: str = ""  # as in Place; in `smaller`, "users=same" picks the step nearest the `larger` place's users


class GapCheck(_Check):
    type: Literal["gap"]
    metric: str
    numerator: str
    denominator: str
    larger: GapPlace  # where the gap is claimed to be larger
    smaller: GapPlace

    def expected(self) -> str:
        return (f"{self.numerator}/{self.denominator} {self.metric} gap larger at {self.larger.scenario} "
                f"than at {self.smaller.scenario}")


class BehaviourCheck(_Check):
    type: Literal["behaviour"]
    target: str
    check: str  # a key of results.checks[target], e.g. "invalid_email"
    expect: dict[str, Any] = Field(default_factory=dict)  # field -> expected value
    present: list[str] = Field(default_factory=list)  # fields that must be non-empty

    def expected(self) -> str:
        wanted = [f"{k}={v}" for k, v in self.expect.items()] + [f"{k} given" for k in self.present]
        return f"{self.target} {self.check}: {', '.join(wanted)}"


class Evidence(_Strict):
    path: str  # relative to the claims file's folder
    contains: str


class CodeCheck(_Check):
    type: Literal["code"]
    verdict: Verdict
    reason: str
    evidence: list[Evidence] = Field(default_factory=list)

    def expected(self) -> str:
        return "code review"


class NotCheckable(_Check):
    type: Literal["not_checkable"]
    reason: str

    def expected(self) -> str:
        return "—"


Check = Annotated[RangeCheck | RatioCheck | CompareCheck | GapCheck | BehaviourCheck | CodeCheck | NotCheckable,
                  Field(discriminator="type")]


class Claim(_Strict):
    id: str = Field(pattern=r"^[A-Za-z0-9_.-]+$")
    claim: str  # the article's words, in short
    figure: str = ""  # the figure as the article states it
    definition: str = ""  # how this project measures it where the article gives no definition
    tolerance: str = ""
    readings_must_agree: bool = False
    checks: list[Check] = Field(min_length=1)

    def readings(self) -> list[str]:
        return list(dict.fromkeys(c.reading for c in self.checks))

    def parts(self) -> list[str]:
        """The named parts, in the file's order; [] for a claim of one statement."""
        return list(dict.fromkeys(c.part for c in self.checks if c.part))

    def scenarios(self) -> list[str]:
        found: list[str] = []
        for c in self.checks:
            if isinstance(c, Place):
                found.append(c.scenario)
            elif isinstance(c, GapCheck):
                found += [c.larger.scenario, c.smaller.scenario]
            elif isinstance(c, BehaviourCheck):
                found.append("behaviour checks")
        return list(dict.fromkeys(found))

    def metrics(self) -> list[str]:
        found = [c.metric for c in self.checks if isinstance(c, Place | GapCheck)]
        found += [f"checks.{c.check}" for c in self.checks if isinstance(c, BehaviourCheck)]
        found += ["source code" for c in self.checks if isinstance(c, CodeCheck)]
        return list(dict.fromkeys(found))


class ClaimsFile(_Strict):
    policy: Policy = Field(default_factory=Policy)
    claims: list[Claim] = Field(min_length=1)
    base_dir: Path = Path(".")  # set by load_claims; evidence paths are relative to it

    @model_validator(mode="after")
    def _unique_ids(self) -> ClaimsFile:
        seen: set[str] = set()
        for claim in self.claims:
            if claim.id in seen:
                raise ValueError(f"claim id {claim.id!r} appears twice")
            seen.add(claim.id)
        return self


def load_claims(path: Path | None = None) -> ClaimsFile:
    """Read and validate a claims file; any problem is one BenchError line naming the place."""
    path = path or DEFAULT_CLAIMS
    try:
        data = tomllib.loads(path.read_text())
    except OSError as exc:
        raise BenchError(f"cannot read claims file {path}: {exc.strerror}") from None
    except tomllib.TOMLDecodeError as exc:
        raise BenchError(f"bad claims file {path}: {exc}") from None
    try:
        return ClaimsFile(**data, base_dir=path.resolve().parent)
    except ValidationError as exc:
        error = exc.errors()[0]
        where = ".".join(str(part) for part in error["loc"])
        raise BenchError(f"bad claims file {path}: {where + ': ' if where else ''}{error['msg']}") from None
    except TypeError as exc:
        raise BenchError(f"bad claims file {path}: {exc}") from None



def range_text(lo: float | None, hi: float | None, unit: str = "") -> str:
    """ "in [50, 200] ms", "≤ 1", "≥ 40 MB": reads after "is" or "is not"."""
    suffix = "" if unit in ("", "×") else f" {unit}"
    if lo is None:
        return f"≤ {fmt(hi)}{suffix}"
    if hi is None:
        return f"≥ {fmt(lo)}{suffix}"
    return f"in [{fmt(lo)}, {fmt(hi)}]{suffix}"
