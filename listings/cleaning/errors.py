"""The one exception the engine raises for bad input, bad policy or bad secret.

Messages are written for the seller and for logs, so they must never contain cell values or the
secret:
they name the problem, the column *name* at most, and what to do.
"""


class CleaningError(Exception):
    """Input, policy or configuration the engine cannot process. ``str(e)`` is safe to show and log."""  # noqa: E501
