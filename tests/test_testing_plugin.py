"""The pytest plugin of seqstore.testing (registered by the package's `pytest11` entry point),
run by pytester on test files a user would write."""

from __future__ import annotations

import pytest

pytest_plugins = ["pytester"]

USER_TESTS = '''
import boto3
import pytest
from botocore.config import Config


def test_creates_a_store(omics_client):
    store = omics_client.create_sequence_store(name="mine")
    assert omics_client.get_sequence_store(id=store["id"])["name"] == "mine"


def test_sees_none_of_the_previous_tests_stores(omics_client):
    assert omics_client.list_sequence_stores()["sequenceStores"] == []
    omics_client.create_sequence_store(name="second")


def test_code_that_builds_its_own_client(omics_env):
    own = boto3.client("omics")  # from the environment, as a Lambda handler would
    assert own.list_sequence_stores()["sequenceStores"] == []
    assert omics_env["AWS_DISABLE_HOST_PREFIX_INJECTION"] == "true"
'''


def test_a_users_tests_pass_with_isolated_state(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(test_user=USER_TESTS)
    result = pytester.runpytest_subprocess("-p", "no:cacheprovider")
    result.assert_outcomes(passed=3)


def test_isolation_is_real_a_test_that_expects_leftovers_fails(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(test_leftovers='''
def test_one(omics_client):
    omics_client.create_sequence_store(name="left")

def test_two(omics_client):
    assert [s["name"] for s in omics_client.list_sequence_stores()["sequenceStores"]] == ["left"]
''')
    result = pytester.runpytest_subprocess("-p", "no:cacheprovider")
    result.assert_outcomes(passed=1, failed=1)


def test_inject_raises_the_named_exception_exactly_n_times(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(test_faults='''
import pytest
from botocore.config import Config

def test_retry_path(seqstore_server, omics_client):
    client = seqstore_server.client(config=Config(retries={"total_max_attempts": 1}))
    seqstore_server.inject("CreateSequenceStore", "ThrottlingException", times=3)
    raised = 0
    for _ in range(5):
        try:
            client.create_sequence_store(name="s")
        except client.exceptions.ThrottlingException:
            raised += 1
    assert raised == 3
    assert len(client.list_sequence_stores()["sequenceStores"]) == 2
    assert len(seqstore_server.calls("CreateSequenceStore")) == 5
''')
    result = pytester.runpytest_subprocess("-p", "no:cacheprovider")
    result.assert_outcomes(passed=1)


SYNC_TESTS = '''
def test_active_at_once(omics_client):
    store = omics_client.create_sequence_store(name="s")["id"]
    upload = omics_client.create_multipart_read_set_upload(
        sequenceStoreId=store, sourceFileType="FASTQ", subjectId="a", sampleId="b", name="r")["uploadId"]
    data = b"".join(b"@r%d\\nACGTACGTAC\\n+\\nIIIIIIIIII\\n" % i for i in range(100))
    part = omics_client.upload_read_set_part(
        sequenceStoreId=store, uploadId=upload, partSource="SOURCE1", partNumber=1, payload=data)
    done = omics_client.complete_multipart_read_set_upload(sequenceStoreId=store, uploadId=upload,
        parts=[{"partNumber": 1, "partSource": "SOURCE1", "checksum": part["checksum"]}])
    metadata = omics_client.get_read_set_metadata(sequenceStoreId=store, id=done["readSetId"])
    assert metadata["status"] == "ACTIVE"
    assert metadata["sequenceInformation"]["totalReadCount"] == 100
'''


def test_ingest_sync_returns_active_at_once(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(test_sync=SYNC_TESTS)
    pytester.makeini("[pytest]\nseqstore_ingest = sync\n")
    result = pytester.runpytest_subprocess("-p", "no:cacheprovider")
    result.assert_outcomes(passed=1)



def test_ingest_sync_from_the_command_line(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(test_sync=SYNC_TESTS)
    result = pytester.runpytest_subprocess("-p", "no:cacheprovider", "--seqstore-ingest=sync")
    result.assert_outcomes(passed=1)


def test_two_xdist_workers_each_have_a_server(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(
        test_a=USER_TESTS,
        test_b=USER_TESTS,
        test_urls=f'''
import os
import pathlib

def test_note_url_1(seqstore_server, tmp_path_factory):
    root = pathlib.Path({str(pytester.path)!r})
    (root / f"url-{{os.environ['PYTEST_XDIST_WORKER']}}").write_text(seqstore_server.url)

def test_note_url_2(seqstore_server, tmp_path_factory):
    test_note_url_1(seqstore_server, tmp_path_factory)


def test_note_url_3(seqstore_server, tmp_path_factory):
    test_note_url_1(seqstore_server, tmp_path_factory)
''',
    )
    result = pytester.runpytest_subprocess("-p", "no:cacheprovider", "-n", "2", "--dist", "each")
    result.assert_outcomes(passed=18)  # --dist each: every test on both workers, whatever the load
    noted = list(pytester.path.rglob("url-gw*"))
    assert sorted(path.name for path in noted) == ["url-gw0", "url-gw1"]
    assert len({path.read_text() for path in noted}) == 2  # a server of its own per worker
