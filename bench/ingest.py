"""Ingest and download throughput beside their floors, measured in one run.

Generates (once, cached under bench/data/) a synthetic genome, a paired FASTQ.gz of N read pairs
drawn from it, and a coordinate-sorted BAM of the same R1 reads; starts `seqstore serve`; then
for each file measures:

- ingest: CompleteMultipartReadSetUpload → ACTIVE (validation, counts, ETag, index), beside the
  floor `gzip -dc F | md5sum` (and ISA-L's `python -m isal.igzip -dc F | md5sum`) for FASTQ, and
  `samtools view F | md5sum` for BAM. The paired read set is one ingest of both sources, its
  floor the slower of the two sources' floors (they run on both cores); R1 is also ingested
  alone as a single-end read set, beside R1's own floors (the per-file figure);
- streaming ingestion (docs/streaming.md): the pair sent by a client of its own (parts in order
  per source, both sources at once), paced at `--pace` MB/s and unpaced, first part → ACTIVE and
  Complete → ACTIVE, beside the same upload to a server with SEQSTORE_STREAMING_UPLOADS=0;
- peak server memory (VmHWM of the server process);
- GetReadSet download throughput of part 1 beside a plain sequential read of the same bytes, and
  beside the network floor: the same bytes sent by the kernel (sendfile) from a bare HTTP server
  to the same client (curl) over loopback.

    apt-get install samtools          # for the BAM floor
    .venv/bin/python bench/ingest.py --pairs 1000000
"""

from __future__ import annotations

import argparse
import hashlib
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

from benchlib import SendfileServer, serve_with_genome, timed
from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials
from omics.transfer.manager import TransferManager
from streaming_upload import report, streaming_counts, timed_pair_upload

DATA = Path(__file__).resolve().parent / "data"
READ_LENGTH = 150
GENOME_LENGTH = 100_000_000


def generate(pairs: int) -> tuple[Path, Path, Path, Path]:
    """Write genome.fa, R1/R2.fastq.gz and aligned.bam for `pairs` (cached by size)."""
    import pysam
    from isal import igzip

    directory = DATA / f"pairs-{pairs}"
    fasta, r1, r2, bam = (directory / n for n in ("genome.fa", "R1.fastq.gz", "R2.fastq.gz", "aligned.bam"))
    if bam.exists():
        return fasta, r1, r2, bam
    directory.mkdir(parents=True, exist_ok=True)
    rng = __import__("random").Random(7)
    to_bases = bytes(b"ACGT"[i % 4] for i in range(256))
    genome = rng.randbytes(GENOME_LENGTH).translate(to_bases)
    # Varied qualities (Illumina-like letters), so FASTQ compresses like real data, not 40x.
    quality_pool = rng.randbytes(1 << 20).translate(bytes(b"#,:FFFFF"[i % 8] for i in range(256)))
    with open(fasta, "wb") as out:
        out.write(b">chrS\n")
        for i in range(0, GENOME_LENGTH, 60):
            out.write(genome[i : i + 60] + b"\n")
    pysam.faidx(str(fasta))
    complement = bytes.maketrans(b"ACGT", b"TGCA")
    positions = sorted(rng.randrange(GENOME_LENGTH - 600) for _ in range(pairs))
    # SAM text written here and converted by htslib: a pysam record per read is 10x slower.
    sam = directory / "aligned.sam"
    with igzip.open(r1, "wb", compresslevel=1) as f1, igzip.open(r2, "wb", compresslevel=1) as f2, \
            open(sam, "wb") as out:
        out.write(b"@HD\tVN:1.6\tSO:coordinate\n@SQ\tSN:chrS\tLN:%d\n" % GENOME_LENGTH)
        batch1, batch2, batch_sam = [], [], []
        for i, position in enumerate(positions):
            offset = position % ((1 << 20) - READ_LENGTH)
            quality = quality_pool[offset : offset + READ_LENGTH]
            s1 = genome[position : position + READ_LENGTH]
            s2 = genome[position + 300 : position + 300 + READ_LENGTH].translate(complement)[::-1]
            batch1.append(b"@read%d/1\n%s\n+\n%s\n" % (i, s1, quality))
            batch2.append(b"@read%d/2\n%s\n+\n%s\n" % (i, s2, quality))
            batch_sam.append(b"read%d\t0\tchrS\t%d\t60\t%dM\t*\t0\t0\t%s\t%s\n"
                             % (i, position + 1, READ_LENGTH, s1, quality))
            if len(batch1) == 20000:
                f1.write(b"".join(batch1))
                f2.write(b"".join(batch2))
                out.write(b"".join(batch_sam))
                batch1, batch2, batch_sam = [], [], []
        f1.write(b"".join(batch1))
        f2.write(b"".join(batch2))
        out.write(b"".join(batch_sam))
    pysam.view("-b", "-@", "2", "-o", str(bam), str(sam), catch_stdout=False)
    sam.unlink()
    return fasta, r1, r2, bam


def peak_rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def wait_active(omics, store_id: str, read_set_id: str) -> dict:  # type: ignore[no-untyped-def]
    while True:
        meta = omics.get_read_set_metadata(sequenceStoreId=store_id, id=read_set_id)
        if meta["status"] != "PROCESSING_UPLOAD":
            return meta
        time.sleep(0.05)


def ingest(omics, store_id: str, files: list[Path], file_type: str, reference_arn: str | None) -> tuple[float, dict]:  # type: ignore[no-untyped-def]
    """Upload with the TransferManager (wait=False), then time Complete → ACTIVE."""
    manager = TransferManager(omics)
    future = manager.upload_read_set(
        [str(f) for f in files], store_id, file_type, f"bench-{file_type}", "subject", "sample",
        reference_arn=reference_arn, wait=False,
    )
    read_set_id = future.result()  # returns once CompleteMultipartReadSetUpload has answered
    started = time.perf_counter()
    meta = wait_active(omics, store_id, read_set_id)
    elapsed = time.perf_counter() - started
    if meta["status"] != "ACTIVE":
        raise SystemExit(f"ingest failed: {meta.get('statusMessage')}")
    return elapsed, meta


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--pairs", type=int, default=4_000_000)
    parser.add_argument("--generate-only", action="store_true", help="write the cached input files and stop")
    parser.add_argument("--pace", type=float, default=125.0, help="MB/s of the paced streaming runs (the pair's)")
    args = parser.parse_args()
    print(f"generating {args.pairs} read pairs (cached in {DATA}) ...", flush=True)
    fasta, r1, r2, bam = generate(args.pairs)
    if args.generate_only:
        return

    with serve_with_genome(fasta) as running:
        url, omics, store_id, reference_arn = running.url, running.omics, running.store_id, running.reference_arn
        floors = {
            "gzip R1": timed(f"gzip -dc {r1} | md5sum"),
            "gzip R2": timed(f"gzip -dc {r2} | md5sum"),
            "igzip R1": timed(f"{sys.executable} -m isal.igzip -dc {r1} | md5sum"),
            "igzip R2": timed(f"{sys.executable} -m isal.igzip -dc {r2} | md5sum"),
            # Both files' floors at once on the machine's cores, as a paired ingest runs them.
            "igzip pair": timed(f"{sys.executable} -m isal.igzip -dc {r1} | md5sum & "
                                f"{sys.executable} -m isal.igzip -dc {r2} | md5sum & wait"),
        }
        if shutil.which("samtools"):
            floors["samtools BAM"] = timed(f"samtools view {bam} | md5sum")
        fastq_seconds, fastq_meta = ingest(omics, store_id, [r1, r2], "FASTQ", None)
        single_seconds, _ = ingest(omics, store_id, [r1], "FASTQ", None)  # one file: the per-file figure
        bam_seconds, bam_meta = ingest(omics, store_id, [bam], "BAM", reference_arn)
        peak = peak_rss_mb(running.pid)
        before = streaming_counts(url)
        streaming_rows = [(f"streaming, paced {args.pace:g} MB/s", timed_pair_upload(omics, store_id, r1, r2, args.pace)),
                          ("streaming, unpaced", timed_pair_upload(omics, store_id, r1, r2, None))]
        used = streaming_counts(url).get("used", 0) - before.get("used", 0)
        assert used == 2, f"the streaming runs were not streamed ({used} of 2)"

        # Download: part 1 of the BAM (or the whole file if smaller) beside a plain read.
        length = bam_meta["files"]["source1"]["contentLength"]
        part = min(length, bam_meta["files"]["source1"]["partSize"])
        part_url = f"{url}/sequencestore/{store_id}/readset/{bam_meta['id']}?partNumber=1&file=SOURCE1"
        request = AWSRequest(method="GET", url=part_url)
        SigV4Auth(Credentials("bench", "bench-secret"), "omics", "us-east-1").add_auth(request)
        # curl as the client: a Python client would be slower than the server it measures.
        curl = ["curl", "-sf", "-o", "/dev/null", "-w", "%{size_download} %{time_total}"]
        for name, value in request.headers.items():
            curl += ["-H", f"{name}: {value}"]
        downloads = [subprocess.run(curl + [part_url], capture_output=True, text=True, check=True).stdout.split()
                     for _ in range(3)]
        assert all(int(size) == part for size, _ in downloads)
        download = min(float(seconds) for _, seconds in downloads)
        # The network floor: the same bytes, the same client, sent by the kernel (sendfile).
        with SendfileServer(str(bam), part) as floor_server:
            floor_downloads = [
                subprocess.run(curl[:6] + [floor_server.url], capture_output=True, text=True, check=True).stdout.split()
                for _ in range(3)
            ]
        assert all(int(size) == part for size, _ in floor_downloads)
        sendfile_download = min(float(seconds) for _, seconds in floor_downloads)
        plain_reads = []
        for _ in range(3):
            started = time.perf_counter()
            with open(bam, "rb") as f:
                remaining = part
                while remaining and (chunk := f.read(min(1 << 20, remaining))):
                    remaining -= len(chunk)
            plain_reads.append(time.perf_counter() - started)
        plain_read = min(plain_reads)

    with serve_with_genome(fasta, env={"SEQSTORE_STREAMING_UPLOADS": "0"}) as classic:
        streaming_rows += [
            (f"streaming off, paced {args.pace:g} MB/s",
             timed_pair_upload(classic.omics, classic.store_id, r1, r2, args.pace)),
            ("streaming off, unpaced", timed_pair_upload(classic.omics, classic.store_id, r1, r2, None)),
        ]

    md5_r1 = hashlib.md5()
    with subprocess.Popen(["gzip", "-dc", str(r1)], stdout=subprocess.PIPE) as p:
        assert p.stdout is not None
        for chunk in iter(lambda: p.stdout.read(1 << 20), b""):  # type: ignore[union-attr]
            md5_r1.update(chunk)
    assert fastq_meta["etag"]["source1"] == md5_r1.hexdigest(), "FASTQ ETag differs from gzip -dc | md5sum"

    pair_floor = max(floors["gzip R1"], floors["gzip R2"])
    pair_floor_isal = max(floors["igzip R1"], floors["igzip R2"])
    print(f"\n{args.pairs} read pairs of {READ_LENGTH} bp; R1 {r1.stat().st_size / 1e6:.0f} MB gz, "
          f"BAM {bam.stat().st_size / 1e6:.0f} MB; {os.cpu_count()} cores\n")
    print(f"{'work':44} {'seconds':>8} {'ratio':>7}")
    print(f"{'floor gzip -dc | md5sum (slower of R1, R2)':44} {pair_floor:8.2f}")
    print(f"{'floor isal.igzip -dc | md5sum (slower)':44} {pair_floor_isal:8.2f}")
    print(f"{'seqstore ingest, paired FASTQ':44} {fastq_seconds:8.2f} {fastq_seconds / pair_floor:6.2f}x "
          f"(vs igzip {fastq_seconds / pair_floor_isal:.2f}x)")
    print(f"{'floor: both igzip floors at once':44} {floors['igzip pair']:8.2f}")
    print(f"{'seqstore paired FASTQ vs both floors at once':44} {'':8} {fastq_seconds / floors['igzip pair']:6.2f}x")
    print(f"{'seqstore ingest, R1 alone (single-end FASTQ)':44} {single_seconds:8.2f} "
          f"{single_seconds / floors['gzip R1']:6.2f}x (vs igzip {single_seconds / floors['igzip R1']:.2f}x)")
    if "samtools BAM" in floors:
        print(f"{'floor samtools view | md5sum':44} {floors['samtools BAM']:8.2f}")
        print(f"{'seqstore ingest, BAM':44} {bam_seconds:8.2f} {bam_seconds / floors['samtools BAM']:6.2f}x")
    else:
        print(f"{'seqstore ingest, BAM (no samtools floor)':44} {bam_seconds:8.2f}")
    print(f"{'peak server memory (VmHWM), MB':44} {peak:8.0f}")
    label = f"GetReadSet part 1 ({part // 1_000_000} MB)"
    print(f"{label:44} {download:8.2f} {part / download / 1e6:6.0f} MB/s")
    print(f"{'plain sequential read of the same bytes':44} {plain_read:8.2f} {part / plain_read / 1e6:6.0f} MB/s")
    print(f"{'download / plain read throughput':44} {'':8} {plain_read / download:6.2f}x")
    print(f"{'floor: sendfile server, same bytes, curl':44} {sendfile_download:8.2f} "
          f"{part / sendfile_download / 1e6:6.0f} MB/s")
    print(f"{'download / sendfile floor throughput':44} {'':8} {sendfile_download / download:6.2f}x")
    report(streaming_rows, args.pace)


if __name__ == "__main__":
    main()
