"""The one exception ingestion raises for bad input files."""

from __future__ import annotations

MAX_MESSAGE_LENGTH = 240


class IngestError(Exception):
    """A malformed or mistyped input file.

    ``str(error)`` is one line of at most 240 characters that names the source and says what is
    wrong, ready to be shown to a user as a read set's or import source's ``statusMessage``.
    """

    def __init__(self, message: str) -> None:
        # Status messages are single-line and short in the API; clamp here once so no caller can
        # leak a multi-line htslib dump or a huge header line into the database.
        one_line = " ".join(message.split())
        if len(one_line) > MAX_MESSAGE_LENGTH:
            one_line = one_line[: MAX_MESSAGE_LENGTH - 3].rstrip() + "..."
        super().__init__(one_line)
        self.message = one_line

    def __str__(self) -> str:
        return self.message


def show_bytes(data: bytes, limit: int = 40) -> str:
    """Returns a short printable rendering of ``data`` for an error message, quoted."""
    text = data[:limit].decode("ascii", "backslashreplace")
    text = "".join(c if c.isprintable() else repr(c)[1:-1] for c in text)
    return repr(text + ("..." if len(data) > limit else ""))
