"""The one exception type the CLI turns into a one-line message and a non-zero exit."""


class BenchError(Exception):
    """A problem the user can act on: bad input, missing tool, a target that misbehaves.

    The message is shown as one line, without a traceback; `exit_code` lets `bench compare`
    distinguish bad input (2) from a finding.
    """

    def __init__(self, message: str, exit_code: int = 2) -> None:
        super().__init__(message)
        self.exit_code = exit_code
