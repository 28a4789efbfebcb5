"""The methods' one error type: a clear message and the process exit status."""

from __future__ import annotations


class MethodError(Exception):
    """A failure the user can act on; ``run_method`` prints the message (no traceback) and exits with ``exit_code``.

    ``exit_code`` 2: bad parameters or input (fix the config or the data); 1: the run itself failed.
    """

    def __init__(self, message: str, exit_code: int = 2) -> None:
        super().__init__(message)
        self.exit_code = exit_code
