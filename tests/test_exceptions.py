"""The exception hierarchy (SPEC 4) and the rule that botocore's exceptions never leak.

Two kinds of tests: real failures produced on the session's server, and
``baiji.stores.s3.translate`` fed with constructed botocore errors for the
cases a local server cannot produce.  moto accepts any credentials, so a real
"access denied" comes only from SeaweedFS (which checks SigV4 signatures);
on moto that path is covered by the constructed 403 errors below.
"""

from __future__ import annotations

import errno
import os
import pickle
import uuid

import botocore.exceptions as boto_errors
import pytest

from support import servers
from baiji import exceptions as exc
from baiji import s3
from baiji.connection import S3Connection
from baiji.exceptions import KeyNotFound
from baiji.stores import LocalStore
from baiji.stores.s3_errors import translate, translated
from support.helpers import missing_bucket, put

BUCKET_URL = "s3://some-bucket/some/key.txt"


# The hierarchy ---------------------------------------------------------------------


@pytest.mark.parametrize("cls, bases", [
    (exc.AWSError, (Exception,)),
    (exc.AWSCredentialsMissing, (exc.AWSError,)),
    (exc.S3Exception, (exc.AWSError,)),
    (exc.KeyNotFound, (exc.S3Exception, exc.AWSError)),
    (exc.BucketNotFound, (exc.KeyNotFound, exc.S3Exception)),
    (exc.KeyExists, (exc.S3Exception,)),
    (exc.SameFile, (exc.KeyExists, ValueError)),
    (exc.IsADirectory, (exc.S3Exception, IsADirectoryError)),
    (exc.SourceChanged, (exc.S3Exception,)),
    (exc.InvalidVersionID, (exc.S3Exception,)),
    (exc.InvalidSchemeException, (ValueError,)),
    (exc.TransientError, (RuntimeError,)),
    (exc.S3Warning, (RuntimeWarning,)),
    (exc.EventualConsistencyWarning, (exc.S3Warning, RuntimeWarning)),
])
def test_hierarchy(cls, bases):
    for base in bases:
        assert issubclass(cls, base), (cls, base)
    # re-exported by baiji.s3 as the very same classes
    assert getattr(s3, cls.__name__) is cls


def test_distinct_branches():
    assert not issubclass(exc.KeyExists, exc.KeyNotFound)
    assert not issubclass(exc.KeyNotFound, exc.KeyExists)
    assert not issubclass(exc.AWSCredentialsMissing, exc.S3Exception)
    assert not issubclass(exc.InvalidSchemeException, exc.AWSError)
    assert not issubclass(exc.TransientError, exc.AWSError)
    assert not issubclass(exc.S3Warning, exc.AWSError)


def test_exceptions_carry_a_message():
    for cls in (exc.AWSError, exc.AWSCredentialsMissing, exc.S3Exception, exc.KeyNotFound,
                exc.BucketNotFound, exc.KeyExists, exc.IsADirectory, exc.SourceChanged, exc.InvalidVersionID,
                exc.InvalidSchemeException, exc.TransientError):
        assert str(cls("the message")) == "the message"


@pytest.mark.parametrize("cls, builtin, code", [
    (exc.KeyNotFound, FileNotFoundError, errno.ENOENT),
    (exc.BucketNotFound, FileNotFoundError, errno.ENOENT),
    (exc.KeyExists, FileExistsError, errno.EEXIST),
    (exc.SameFile, FileExistsError, errno.EEXIST),
    (exc.IsADirectory, IsADirectoryError, errno.EISDIR),
])
def test_os_errors_carry_errno_and_the_systems_strerror(cls, builtin, code):
    err = cls("s3://b/k: the message")
    assert isinstance(err, builtin)
    assert (err.errno, err.strerror) == (code, os.strerror(code))
    assert str(err) == "s3://b/k: the message"
    again = pickle.loads(pickle.dumps(err))  # how bulk copies send errors back from workers
    assert (type(again), str(again), again.errno, again.strerror) == (cls, str(err), code, os.strerror(code))


def test_real_os_errors_carry_errno(conn, s3dir, tmp_path):
    conn.put_string(s3dir + "k", "x")
    (tmp_path / "d").mkdir()
    for call, code in ((lambda: conn.info(s3dir + "missing"), errno.ENOENT),
                       (lambda: conn.rm(str(tmp_path / "missing")), errno.ENOENT),
                       (lambda: conn.cp(s3dir + "missing", str(tmp_path / "x")), errno.ENOENT),
                       (lambda: conn.cp(str(tmp_path / "d" / "x"), s3dir + "k"), errno.ENOENT),
                       (lambda: conn.open(s3dir + "k", "x"), errno.EEXIST),
                       (lambda: conn.rm(str(tmp_path / "d")), errno.EISDIR)):
        with pytest.raises(OSError) as info:
            call()
        assert (info.value.errno, info.value.strerror) == (code, os.strerror(code)), info.value


@pytest.mark.parametrize("text, expected", [
    ('Could not connect to the endpoint URL: "http://u:PaSs@127.0.0.1:9/b/k"',
     'Could not connect to the endpoint URL: "http://u:[REDACTED]@127.0.0.1:9/b/k"'),
    ("https://:p%40ss@host/", "https://:[REDACTED]@host/"),
    ("s3://bucket/k:ey@x and http://host/a:b@c", "s3://bucket/k:ey@x and http://host/a:b@c"),
])
def test_url_passwords_never_in_messages(text, expected):
    assert exc.without_url_passwords(text) == expected
    assert str(exc.S3Exception(text)) == expected


def test_endpoint_password_not_in_library_errors():
    """The endpoint's password must not show in what the library raises (it embeds the URL)."""
    conn = S3Connection(endpoint_url="http://user:PaSsWoRd-42@127.0.0.1:9")
    with pytest.raises(exc.S3Exception) as info:
        conn.exists("s3://some-bucket/k")
    assert "127.0.0.1:9" in str(info.value) and "PaSsWoRd-42" not in str(info.value)


# translate(): constructed botocore errors ---------------------------------------------
#
# moto cannot answer 403 (it accepts any credentials) and neither local server
# answers a malformed version id with AWS's 400 InvalidArgument, so these
# cases are checked on translate directly with ClientErrors shaped like AWS's.


def client_error(code, status, message="msg", operation="HeadObject"):
    return boto_errors.ClientError(
        {"Error": {"Code": code, "Message": message},
         "ResponseMetadata": {"HTTPStatusCode": status}}, operation)


def assert_no_botocore(err):
    assert not isinstance(err, (boto_errors.BotoCoreError, boto_errors.ClientError)), repr(err)
    assert type(err).__module__ == "baiji.exceptions", repr(err)


@pytest.mark.parametrize("code, status, expected", [
    ("NoSuchKey", 404, exc.KeyNotFound),
    ("404", 404, exc.KeyNotFound),  # HEAD: no body, the status is the code
    ("NotFound", 404, exc.KeyNotFound),
    ("NoSuchVersion", 404, exc.KeyNotFound),
    ("NoSuchBucket", 404, exc.BucketNotFound),
    ("PreconditionFailed", 412, exc.KeyExists),
    ("InternalError", 500, exc.S3Exception),
    ("SlowDown", 503, exc.S3Exception),
    ("InvalidBucketName", 400, exc.S3Exception),
])
def test_translate_client_errors(code, status, expected):
    err = translate(client_error(code, status), BUCKET_URL)
    assert type(err) is expected
    assert_no_botocore(err)
    assert BUCKET_URL in str(err)


def test_translate_bucket_not_found_names_the_bucket():
    err = translate(client_error("NoSuchBucket", 404), BUCKET_URL)
    assert "some-bucket" in str(err)
    assert isinstance(err, exc.KeyNotFound)


@pytest.mark.parametrize("code, status", [
    ("AccessDenied", 403), ("403", 403), ("InvalidAccessKeyId", 403),
    ("SignatureDoesNotMatch", 403), ("AllAccessDisabled", 403), ("Forbidden", 403),
])
def test_translate_permission_denied(code, status):
    err = translate(client_error(code, status, message="Access Denied"), BUCKET_URL)
    assert type(err) is exc.S3Exception
    assert str(err).startswith(f"Permission denied on {BUCKET_URL}")


@pytest.mark.parametrize("code", ["InvalidArgument", "400", "InvalidVersionId"])
def test_translate_malformed_version_id(code):
    err = translate(client_error(code, 400, "Invalid version id specified"), BUCKET_URL,
                    version_id="bad version")
    assert type(err) is exc.InvalidVersionID
    assert "bad version" in str(err) and BUCKET_URL in str(err)


def test_translate_invalid_argument_without_version_is_plain_s3_exception():
    err = translate(client_error("InvalidArgument", 400, "something else"), BUCKET_URL)
    assert type(err) is exc.S3Exception


def test_translate_unknown_version_names_the_version():
    err = translate(client_error("NoSuchVersion", 404), BUCKET_URL, version_id="v123")
    assert type(err) is exc.KeyNotFound
    assert "v123" in str(err)


@pytest.mark.parametrize("error, expected", [
    (boto_errors.NoCredentialsError(), exc.AWSCredentialsMissing),
    (boto_errors.PartialCredentialsError(provider="env", cred_var="AWS_SECRET_ACCESS_KEY"),
     exc.AWSCredentialsMissing),
    (boto_errors.EndpointConnectionError(endpoint_url="http://127.0.0.1:1"), exc.S3Exception),
    (boto_errors.ConnectTimeoutError(endpoint_url="http://127.0.0.1:1"), exc.S3Exception),
    (boto_errors.ReadTimeoutError(endpoint_url="http://127.0.0.1:1"), exc.TransientError),
    (boto_errors.ResponseStreamingError(error="reset"), exc.TransientError),
    (boto_errors.IncompleteReadError(actual_bytes=1, expected_bytes=2), exc.TransientError),
    (boto_errors.ConnectionClosedError(endpoint_url="http://127.0.0.1:1"), exc.TransientError),
    (boto_errors.ParamValidationError(report="bad"), exc.S3Exception),
    (boto_errors.ProfileNotFound(profile="nope"), exc.S3Exception),
])
def test_translate_botocore_errors(error, expected):
    err = translate(error, BUCKET_URL)
    assert isinstance(err, expected)
    assert_no_botocore(err)


def test_credentials_missing_message_is_helpful():
    err = translate(boto_errors.NoCredentialsError(), BUCKET_URL)
    text = str(err)
    assert "AWS_ACCESS_KEY_ID" in text and "AWS_SECRET_ACCESS_KEY" in text
    assert "credentials" in text


def test_translated_chains_the_cause():
    original = client_error("NoSuchKey", 404)
    with pytest.raises(exc.KeyNotFound) as info:
        with translated(BUCKET_URL):
            raise original
    assert info.value.__cause__ is original


def test_translated_lets_other_exceptions_through():
    with pytest.raises(ZeroDivisionError):
        with translated(BUCKET_URL):
            1 / 0


# Real failures on the server ---------------------------------------------------------


def test_real_not_found_errors(conn, s3dir, tmp_path):
    with pytest.raises(exc.KeyNotFound) as info:
        conn.info(s3dir + "missing")
    assert s3dir + "missing" in str(info.value)
    assert_no_botocore(info.value)
    with pytest.raises(exc.BucketNotFound) as info:
        list(conn.ls(f"s3://{missing_bucket()}/x"))
    assert_no_botocore(info.value)
    with pytest.raises(exc.KeyNotFound):
        conn.get_string(s3dir + "missing")
    with pytest.raises(exc.KeyNotFound):
        conn.size(str(tmp_path / "missing"))


def test_real_unknown_version_is_key_not_found(conn, client, versioned_bucket):
    client.put_object(Bucket=versioned_bucket, Key="k", Body=b"x")
    with pytest.raises(exc.KeyNotFound):
        conn.size(f"s3://{versioned_bucket}/k", version_id="3HL4kqtJlcpXroDTDmJ.rmSpXd3dIbrHY")


@pytest.mark.parametrize("url", ["http://example.com/x", "gs://bucket/x", "ftp://host/x"])
def test_other_schemes_raise_invalid_scheme(conn, url):
    calls = [conn.exists, conn.info, conn.size, conn.etag, conn.md5, conn.get_string,
             conn.touch, conn.isdir, conn.isfile, lambda u: list(conn.ls(u)),
             lambda u: conn.get_url(u, 60), lambda u: conn.put_string(u, "x"),
             lambda u: list(conn.glob(u, "*")), conn.encrypt_at_rest, conn.restore]
    for call in calls:
        with pytest.raises(exc.InvalidSchemeException):
            call(url)


def test_malformed_s3_urls_raise_value_error(conn):
    for url in ("s3:///no-bucket", "s3://bad bucket/x", "s3://bad|bucket/x"):
        with pytest.raises(ValueError):
            conn.exists(url)
    with pytest.raises(ValueError):
        conn.exists(12345)


def test_unreachable_endpoint_is_a_baiji_error(s3dir):
    """A connection refused (botocore's EndpointConnectionError) comes out as S3Exception.
    An injected client with one attempt keeps the test fast."""
    dead = servers.make_client(f"http://127.0.0.1:{servers.free_port()}", "testing", "secret",
                               retries={"max_attempts": 1, "mode": "standard"}, connect_timeout=2)
    conn = S3Connection(client=dead)
    for call in (lambda: conn.exists(s3dir + "x"), lambda: list(conn.ls(s3dir)),
                 lambda: conn.put_string(s3dir + "x", "x"), lambda: conn.list_buckets()):
        with pytest.raises(exc.S3Exception) as info:
            call()
        assert_no_botocore(info.value)
        assert not isinstance(info.value, exc.KeyNotFound)


@pytest.mark.servers("seaweedfs", reason="only SeaweedFS checks signatures: moto accepts any credentials")
def test_real_permission_denied_with_wrong_secret(endpoint_url, client, s3dir):
    bucket, _, prefix = s3dir[5:].partition("/")
    client.put_object(Bucket=bucket, Key=prefix + "k", Body=b"x")
    wrong = servers.make_client(endpoint_url, servers.DEFAULT_ACCESS_KEY, "not-the-secret-42",
                                retries={"max_attempts": 1, "mode": "standard"})
    conn = S3Connection(client=wrong)
    calls = {
        "info": lambda: conn.info(s3dir + "k"),
        "exists": lambda: conn.exists(s3dir + "k"),
        "get_string": lambda: conn.get_string(s3dir + "k"),
        "put_string": lambda: conn.put_string(s3dir + "new", "x"),
        "ls": lambda: list(conn.ls(s3dir)),
        "rm": lambda: conn.rm(s3dir + "k"),
    }
    for name, call in calls.items():
        with pytest.raises(exc.S3Exception) as info:
            call()
        err = info.value
        assert_no_botocore(err)
        assert not isinstance(err, exc.KeyNotFound), name
        assert str(err).startswith("Permission denied on s3://"), (name, str(err))
        assert "not-the-secret-42" not in str(err)
    assert client.get_object(Bucket=bucket, Key=prefix + "k")["Body"].read() == b"x"


def test_no_botocore_exception_leaks_from_bad_requests(conn, client, s3dir, server_kind):
    """A sweep of requests the server refuses: every error is one of baiji's (or ValueError)."""
    upper = "UPPER-case-bucket-" + uuid.uuid4().hex[:6]
    long_key = s3dir + "k" * 1100  # over S3's 1024-byte key limit
    calls = [
        lambda: conn.put_string(long_key, "x"),
        lambda: conn.get_string(long_key),
        lambda: conn.exists("s3://xx/key"),  # too short a bucket name
        lambda: conn.put_string("s3://xx/key", "x"),
        lambda: conn.bucket_info("xx"),
        lambda: conn.create_bucket(upper),
        lambda: conn.enable_versioning(missing_bucket()),
        lambda: conn.restore(f"s3://{missing_bucket()}/x"),
        lambda: list(conn.ls(f"s3://{missing_bucket()}/x", list_versions=True)),
        lambda: conn.get_url(f"s3://{missing_bucket()}/x", 60),
        lambda: conn.size(s3dir + "x", version_id="not a version"),
        lambda: conn.encrypt_at_rest(s3dir + "missing"),
        lambda: conn.touch(f"s3://{missing_bucket()}/x") if server_kind != "seaweedfs" else None,
    ]
    for call in calls:
        try:
            call()
        except (exc.AWSError, ValueError) as err:
            assert not isinstance(err, (boto_errors.BotoCoreError, boto_errors.ClientError)), repr(err)
        except Exception as err:  # pragma: no cover - the failure case
            pytest.fail(f"untranslated exception {type(err).__module__}.{type(err).__name__}: {err}")
    if server_kind != "aws":
        try:  # in case the server accepted the upper-case name
            servers.delete_bucket(client, upper)
        except Exception:
            pass


# -- messages that name what failed ----------------------------------------------------------------

def test_local_read_of_a_missing_file_names_it(conn, tmp_path):
    missing = str(tmp_path / "missing.txt")
    with pytest.raises(KeyNotFound, match="missing.txt"):
        conn.get_string(missing)


def test_local_delete_of_a_missing_file_names_it(tmp_path):
    with pytest.raises(KeyNotFound, match="gone.txt"):
        LocalStore().delete(str(tmp_path / "gone.txt"))


def test_missing_bucket_is_named(conn):
    bucket = missing_bucket()
    with pytest.raises(KeyNotFound, match=f"bucket {bucket} does not exist"):
        conn.get_string(f"s3://{bucket}/k")  # a GET: a HEAD's 404 carries no error code


def test_missing_version_is_named_in_the_error(conn, versioned_bucket, client):
    url = f"s3://{versioned_bucket}/k"
    version = put(client, url, b"x")["VersionId"]
    client.delete_object(Bucket=versioned_bucket, Key="k", VersionId=version)
    with pytest.raises(KeyNotFound, match=f"version {version}"):
        conn.size(url, version_id=version)


def test_bulk_copy_error_lists_pairs_and_lone_paths():
    from baiji.connection import BulkCopyError

    err = BulkCopyError([("a", "b", Exception("boom")), ("c", None, Exception("c: bad"))], 5)
    assert str(err) == "2 of 5 copies failed: a -> b: boom; c: bad"
    many = BulkCopyError([(f"s{i}", None, Exception(f"e{i}")) for i in range(21)], 30, "deletions", "; note")
    assert str(many).startswith("21 of 30 deletions failed: e0; e1")
    assert str(many).endswith("; e19; and 1 more; note")


def test_unfamiliar_error_keeps_the_servers_message():
    import botocore.exceptions

    from baiji.stores.s3_errors import translate

    err = botocore.exceptions.ClientError(
        {"Error": {"Code": "Odd", "Message": "the server says why"}, "ResponseMetadata": {"HTTPStatusCode": 500}},
        "PutObject")
    assert str(translate(err, "s3://b/k")) == "s3://b/k: Odd: the server says why"
