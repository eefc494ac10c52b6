"""seqstore's test suite: a package, so that tests.helpers and tests.fuzzing import by name."""
