"""Model-driven fuzzing of seqstore's storage API.

Requests for every storage operation of botocore's omics model (a `storage` host prefix, plus the
three tag calls): valid ones naming real resources it creates first, each constraint of the model
violated in turn, values of the wrong type, random bytes as bodies, huge and empty values,
path-traversal and percent-encoding tricks in URI labels, unknown and repeated query parameters,
odd headers and methods. Every request is signed with botocore's SigV4Auth for exactly the bytes
it sends (a raw socket, no URL normalization), so it gets past authentication to validation.

Invalid requests aim at a "victim" sequence store (with a read set, tags, an upload in progress
and an access policy) and the reference store; valid ones, which may change things, at a separate
"scratch" store. The victim's data is snapshotted before and after: it must not change.

    bench/fuzz.py --requests 10000 [--seed N] [--url URL --access-key K --secret S]
    python -m tests.fuzzing ...  (the same, from the repository's root)

Without --url it starts its own `seqstore serve` on a temporary data directory. Prints the count of
2xx/4xx/5xx answers per operation and overall; exits 1 if any answer is >= 500, any request got no
answer, or the victim's data changed.

The operations and their shapes come from seqstore's own reading of the model
(seqstore.protocol.model, seqstore.protocol.parsing), the body and part limits from the modules
that enforce them; tests/test_fuzz_slice.py runs a slice of it in the suite."""
