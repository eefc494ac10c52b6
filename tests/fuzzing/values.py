"""Values that satisfy the model's shapes (its patterns, lengths, ranges and enums), and setting
a value at a path of an operation's input."""

from __future__ import annotations

import json
import random
import string
from datetime import UTC, datetime, timedelta
from functools import cache
from typing import Any

import regex

from tests.fuzzing.model import DELETE, MAP_KEY, child
from tests.helpers.names import ACCOUNT

WORD = string.ascii_letters + string.digits
TEXT = WORD + " -_.,:;()[]@+="
UNICODE = "éßΩжλ中文한국어العربية🧬∑€"


@cache
def compiled(pattern: str) -> Any:
    return regex.compile(pattern)


def fits(shape: Any, value: Any) -> bool:
    if not isinstance(value, str):
        return False
    enum = getattr(shape, "enum", None)
    if enum:
        return value in enum
    meta = shape.metadata
    if not meta.get("min", 0) <= len(value) <= meta.get("max", 10**9):
        return False
    pattern = meta.get("pattern")
    return not pattern or compiled(pattern).fullmatch(value) is not None


def random_text(rng: random.Random, low: int, high: int, alphabet: str = TEXT) -> str:
    length = rng.randint(low, max(low, min(high, 40)))
    return "".join(rng.choice(alphabet) for _ in range(length))


def _pattern_candidates(shape: Any, rng: random.Random, region: str) -> list[str]:
    pattern = shape.metadata.get("pattern", "")
    word = random_text(rng, 3, 12, WORD)
    candidates: list[str] = []
    if "accesspoint" in pattern:
        candidates.append(f"arn:aws:s3:{region}:{ACCOUNT}:accesspoint/{ACCOUNT}-{rng.randrange(10**9, 10**10)}")
    if "arn:" in pattern:
        candidates += [f"arn:aws:kms:{region}:{ACCOUNT}:key/{word}",
                       f"arn:aws:iam::{ACCOUNT}:role/fuzz-{word}",
                       f"arn:aws:omics:{region}:{ACCOUNT}:referenceStore/1234567890/reference/1234567890"]
    if "s3://" in pattern:
        candidates += [f"s3://fuzz-bucket/{word}/", f"s3://fuzz-bucket/{word}/reads.fastq", ""]
    if pattern == "[0-9]+":
        candidates.append(str(rng.randrange(10**9, 10**10)))
    if pattern.startswith("[\\p{N}||\\p{P}]"):
        candidates += [f"{rng.randrange(0, 100)}-{rng.randrange(100, 200)}", "0-99"]
    return candidates


def fitting_string(shape: Any, rng: random.Random, region: str) -> str:
    enum = getattr(shape, "enum", None)
    if enum:
        return str(rng.choice(enum))
    low, high = shape.metadata.get("min", 0), shape.metadata.get("max", 64)
    for candidate in _pattern_candidates(shape, rng, region):
        if fits(shape, candidate):
            return candidate
    for alphabet in (TEXT, TEXT + UNICODE, WORD):
        for _ in range(5):
            candidate = random_text(rng, max(low, 1), high, alphabet)
            if fits(shape, candidate):
                return candidate
    raise ValueError(f"no value fits {shape.name}")


def iso(moment: datetime) -> str:
    return moment.strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z"


def fastq(count: int, rng: random.Random) -> bytes:
    """`count` FASTQ records of 30 random bases: a valid part, blob or read set."""
    lines = []
    for i in range(count):
        sequence = "".join(rng.choice("ACGT") for _ in range(30))
        lines.append(f"@read{i}\n{sequence}\n+\n{'I' * len(sequence)}\n")
    return "".join(lines).encode()


def valid_value(shape: Any, rng: random.Random, region: str, ids: dict[str, str], depth: int = 0) -> Any:
    """A random value of `shape` that keeps every rule of the model; string shapes named in `ids`
    (shape name -> value) take the resource given there."""
    kind = shape.type_name
    if kind == "structure":
        result = {}
        for name, member in shape.members.items():
            if name in shape.required_members or (depth < 3 and rng.random() < 0.3):
                result[name] = valid_value(member, rng, region, ids, depth + 1)
        return result
    if kind == "list":
        low, high = shape.metadata.get("min", 0), shape.metadata.get("max", 3)
        count = rng.randint(low, max(low, min(high, 3)))
        return [valid_value(shape.member, rng, region, ids, depth + 1) for _ in range(count)]
    if kind == "map":
        count = rng.randint(shape.metadata.get("min", 0), min(shape.metadata.get("max", 3), 3))
        return {fitting_string(shape.key, rng, region): valid_value(shape.value, rng, region, ids, depth + 1)
                for _ in range(count)}
    if kind == "string":
        if shape.name in ids:
            return ids[shape.name]
        return fitting_string(shape, rng, region)
    if kind in ("integer", "long"):
        low, high = shape.metadata.get("min", 0), shape.metadata.get("max", 1000)
        return rng.randint(low, min(high, low + 20))
    if kind == "boolean":
        return rng.random() < 0.5
    if kind == "timestamp":
        moment = datetime(2020, 1, 1, tzinfo=UTC) + timedelta(seconds=rng.randrange(0, 10**9))
        return rng.choice([iso(moment), moment.timestamp(), int(moment.timestamp())])
    if kind == "blob":
        return fastq(rng.randint(1, 20), rng)
    raise ValueError(kind)


def set_at(params: dict[str, Any], op: Any, path: tuple[Any, ...], value: Any, rng: random.Random,
           region: str, ids: dict[str, str]) -> None:
    """Put `value` at `path` in `params`, creating missing containers (DELETE removes)."""
    container: Any = params
    shape = op.input_shape
    for step in path[:-1]:
        shape_next = child(shape, step)
        if isinstance(container, dict):
            if step is MAP_KEY:
                raise ValueError("map keys have no children")
            current = container.get(step)
            if not isinstance(current, dict | list):
                container[step] = _container_for(shape_next, rng, region, ids)
            container = container[step]
        else:
            while len(container) <= step:
                container.append(_container_for(shape_next, rng, region, ids))
            if not isinstance(container[step], dict | list):
                container[step] = _container_for(shape_next, rng, region, ids)
            container = container[step]
        shape = shape_next
    last = path[-1]
    if last is MAP_KEY:
        container.clear()
        container[value if isinstance(value, str) else json.dumps(value)] = valid_value(
            shape.value, rng, region, ids, 5)
    elif isinstance(container, list):
        while len(container) <= last:
            container.append(None)
        if value is DELETE:
            container.pop(last)
        else:
            container[last] = value
    elif value is DELETE:
        container.pop(last, None)
    else:
        container[last] = value


def _container_for(shape: Any, rng: random.Random, region: str, ids: dict[str, str]) -> Any:
    if shape.type_name == "structure":
        return valid_value(shape, rng, region, ids, 5)
    if shape.type_name == "list":
        return [valid_value(shape.member, rng, region, ids, 5)]
    if shape.type_name == "map":
        return {}
    return valid_value(shape, rng, region, ids, 5)
