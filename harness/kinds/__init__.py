"""Scenario kinds: how one trial of a scenario runs.

Each kind module has a pydantic `Params` model (a profile's parameters) and
`run_trial(ctx: TrialContext) -> TrialOutcome`.
"""
