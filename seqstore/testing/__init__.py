"""seqstore for test suites: `OmicsServer` (a real server in the test process) and a pytest
plugin (`seqstore.testing.plugin`, registered as entry point `pytest11`). docs/testing.md."""

from .server import TEST_ACCESS_KEY_ID, TEST_SECRET_ACCESS_KEY, OmicsServer, OmicsServerError

__all__ = ["TEST_ACCESS_KEY_ID", "TEST_SECRET_ACCESS_KEY", "OmicsServer", "OmicsServerError"]
