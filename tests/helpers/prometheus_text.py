"""A reader of Prometheus' text exposition format, enough for the tests: every sample line as
`name{labels}` → value; comment lines must be HELP or TYPE."""

from __future__ import annotations


def parse(text: str) -> dict[str, float]:
    samples: dict[str, float] = {}
    for line in text.splitlines():
        if not line:
            continue
        if line.startswith("#"):
            assert line.split(" ")[1] in ("HELP", "TYPE"), line
            continue
        name, _, value = line.rpartition(" ")
        assert name and name.startswith("seqstore_"), line
        samples[name] = float(value)
    return samples
