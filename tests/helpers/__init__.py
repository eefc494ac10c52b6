"""What the tests share: one definition of each helper, by subject (names and constants, servers,
clients, signing, generated files and the calls that upload, import and wait for them)."""
