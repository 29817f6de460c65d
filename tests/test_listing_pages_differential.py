"""baiji.stores.listing_pages.list_page against botocore's reading of the same ListObjectsV2 answer.

The lister reads its own pages (``ElementTree`` and :func:`list_page`: some
8 ms of CPU a 1000-key page, where botocore's parser takes ten times that),
so they must come out as boto3's do.  The
oracle is botocore's ``RestXMLParser`` with the s3 model's ListObjectsV2
output shape, then its ``decode_list_object_v2`` handler (the url-decoding of
``encoding-type=url`` answers), as a boto3 client runs them.  Compared: the
``Contents`` items (``Key``, ``LastModified``, ``ETag``, ``Size``,
``StorageClass``: what baiji's pages hold), ``CommonPrefixes``, and the
continuation token (only when ``IsTruncated``).

The answers: hand-picked ones (as moto and SeaweedFS write them, empty
pages, prefixes only) and :data:`GENERATED` seeded random ones: keys of
random characters (control characters, unicode, spaces, ``+``, ``%``,
``/`` runs, XML's specials), url-encoded (by ``quote`` or ``quote_plus``)
or not (escaped or in CDATA), timestamps with no fraction or 1 to 9 digits
of it, entity-escaped ETags, with or without the S3 namespace, indented or
not, with fields in any order and ones baiji does not read (``Owner``,
``ChecksumAlgorithm``).  No server is used.
"""

from __future__ import annotations

import random
import xml.etree.ElementTree as ET
from urllib.parse import quote, quote_plus
from xml.sax.saxutils import escape

import botocore.session
import pytest
from botocore.handlers import decode_list_object_v2
from botocore.parsers import RestXMLParser

from baiji.stores.listing_pages import list_page

SEED = 0x21_1000
GENERATED = 1500
FIELDS = ("Key", "LastModified", "ETag", "Size", "StorageClass")
NS = "http://s3.amazonaws.com/doc/2006-03-01/"

_SHAPE = botocore.session.get_session().get_service_model("s3").operation_model("ListObjectsV2").output_shape


def botocore_page(body: bytes) -> tuple[dict, dict[str, str] | None]:
    """What a boto3 client makes of ``body``, in the shape of :func:`list_page`'s answer."""
    parsed = RestXMLParser().parse({"body": body, "headers": {}, "status_code": 200}, _SHAPE)
    decode_list_object_v2(parsed, {"encoding_type_auto_set": True})
    page: dict = {}
    if parsed.get("Contents"):
        page["Contents"] = [{k: item[k] for k in FIELDS if k in item} for item in parsed["Contents"]]
    if parsed.get("CommonPrefixes"):
        page["CommonPrefixes"] = parsed["CommonPrefixes"]
    token = parsed.get("NextContinuationToken") if parsed.get("IsTruncated") else None
    return page, {"continuation-token": token} if token else None


def baiji_page(body: bytes) -> tuple[dict, dict[str, str] | None]:
    return list_page(ET.fromstring(body))


def element(name: str, text: str) -> str:
    return f"<{name}>{text}</{name}>"


#: (name, answer) pairs as servers write them.
HAND_PICKED = [
    ("seaweedfs", f'<?xml version="1.0" encoding="UTF-8"?>\n<ListBucketResult xmlns="{NS}"><Name>b</Name>'
     "<Prefix>p%2F</Prefix><MaxKeys>2</MaxKeys><IsTruncated>true</IsTruncated><Contents><Key>p%2Fa+b%25</Key>"
     "<ETag>&#34;d41d8cd98f00b204e9800998ecf8427e&#34;</ETag><Size>0</Size><StorageClass>STANDARD</StorageClass>"
     "<LastModified>2026-12-08T00:06:35Z</LastModified></Contents><NextContinuationToken>p/a b%"
     "</NextContinuationToken><EncodingType>url</EncodingType><KeyCount>1</KeyCount></ListBucketResult>"),
    ("moto", f'<?xml version="1.0" encoding="UTF-8"?>\n<ListBucketResult xmlns="{NS}">\n  <Name>b</Name>\n'
     "  <Prefix></Prefix>\n  <MaxKeys>1000</MaxKeys>\n  <KeyCount>2</KeyCount>\n  <IsTruncated>false</IsTruncated>\n"
     "  <Contents>\n    <Key>%C3%A9%01/x</Key>\n    <LastModified>2026-11-29T13:03:17.042Z</LastModified>\n"
     "    <ETag>&quot;abc-2&quot;</ETag>\n    <Size>12345678901</Size>\n    <StorageClass>STANDARD</StorageClass>\n"
     "    <Owner><ID>x</ID></Owner>\n  </Contents>\n  <CommonPrefixes><Prefix>d%2F</Prefix></CommonPrefixes>\n"
     "  <EncodingType>url</EncodingType>\n</ListBucketResult>"),
    ("empty", f'<ListBucketResult xmlns="{NS}"><Name>b</Name><Prefix>nothing/</Prefix><KeyCount>0</KeyCount>'
     "<IsTruncated>false</IsTruncated><EncodingType>url</EncodingType></ListBucketResult>"),
    ("prefixes only, truncated", "<ListBucketResult><IsTruncated>true</IsTruncated>"
     "<NextContinuationToken>1ueGcxLPRx1Tr/XYExHnhbYLgveDs2J/wm36Hy4vbOwM=</NextContinuationToken>"
     "<CommonPrefixes><Prefix>a/</Prefix></CommonPrefixes><CommonPrefixes><Prefix>a b/</Prefix></CommonPrefixes>"
     "</ListBucketResult>"),
    ("not truncated, a token anyway", f'<ListBucketResult xmlns="{NS}"><IsTruncated>false</IsTruncated>'
     "<NextContinuationToken>t</NextContinuationToken><Contents><Key>k</Key><Size>1</Size>"
     "<LastModified>2026-01-02T03:04:05.123456789Z</LastModified></Contents></ListBucketResult>"),
    ("unencoded, CDATA and entities", "<ListBucketResult><Contents><Key><![CDATA[a<&>]]>/&amp;&lt;&#x263A;</Key>"
     "<Size>3</Size><ETag></ETag><LastModified>2026-01-02T03:04:05.5Z</LastModified></Contents>"
     "<CommonPrefixes><Prefix>%2B+</Prefix></CommonPrefixes></ListBucketResult>"),
]

_CHARS = ("abcxyz019/ +%&<>\"'.-_!*~=?#[]@$,;:\t\x01\x1f\x7féüß\u00ff\u0100\u263a\u4e2d\U0001f600")


def _key(rng: random.Random, url: bool) -> str:
    """A random key; one XML 1.0 can carry unless ``url`` (encoded)."""
    chars = _CHARS if url else _CHARS.replace("\x01", "").replace("\x1f", "")
    return "".join(rng.choice(chars) for _ in range(rng.randint(1, 12))) + rng.choice(["", "/", "//", "/x"])


def _text(rng: random.Random, text: str, url: bool) -> str:
    """``text`` as a server may write it in the answer."""
    if url:
        return rng.choice([quote, quote_plus])(text, safe=rng.choice(["", "/"]))
    if "]]>" not in text and rng.random() < 0.3:
        return f"<![CDATA[{text}]]>"
    return escape(text)


def _time(rng: random.Random) -> str:
    stamp = f"{rng.randint(1970, 2099)}-{rng.randint(1, 12):02d}-{rng.randint(1, 28):02d}T" \
            f"{rng.randint(0, 23):02d}:{rng.randint(0, 59):02d}:{rng.randint(0, 59):02d}"
    digits = rng.choice([0, 0, 3, 1, 2, 6, 9])
    return stamp + ("." + "".join(rng.choice("0123456789") for _ in range(digits)) if digits else "") + "Z"


def generated(rng: random.Random) -> str:
    url = rng.random() < 0.8
    keys = [_key(rng, url) for _ in range(rng.randint(0, 6))]
    sep = rng.choice(["", "\n", "\n  "])
    contents = []
    for key in keys:
        fields = [element("Key", _text(rng, key, url)), element("LastModified", _time(rng)),
                  element("Size", str(rng.choice([0, 1, 2**40 + 7])))]
        if rng.random() < 0.9:
            mark, parts = rng.choice(["&quot;", "&#34;", '"']), rng.choice(["", "-3"])
            fields.append(element("ETag", f"{mark}{rng.getrandbits(128):032x}{parts}{mark}"))
        if rng.random() < 0.7:
            fields.append(element("StorageClass", rng.choice(["STANDARD", "GLACIER", "INTELLIGENT_TIERING"])))
        if rng.random() < 0.2:
            fields.append("<Owner><ID>o</ID><DisplayName>d</DisplayName></Owner>")
        if rng.random() < 0.2:
            fields.append(element("ChecksumAlgorithm", "CRC32"))
        rng.shuffle(fields)
        contents.append(f"<Contents>{sep}{sep.join(fields)}{sep}</Contents>")
    prefixes = [f"<CommonPrefixes>{element('Prefix', _text(rng, _key(rng, url) + '/', url))}</CommonPrefixes>"
                for _ in range(rng.randint(0, 3))]
    truncated = rng.random() < 0.5
    top = [element("Name", "b"), element("IsTruncated", "true" if truncated else "false"),
           element("KeyCount", str(len(keys)))]
    if truncated or rng.random() < 0.2:
        top.append(element("NextContinuationToken", escape(_key(rng, False))))
    if url:
        top.append(element("EncodingType", "url"))
    items = contents + prefixes
    rng.shuffle(top)
    cut = rng.randint(0, len(top))
    xmlns = f' xmlns="{NS}"' if rng.random() < 0.8 else ""
    return (rng.choice(["", '<?xml version="1.0" encoding="UTF-8"?>\n']) + f"<ListBucketResult{xmlns}>{sep}"
            + sep.join(top[:cut] + items + top[cut:]) + f"{sep}</ListBucketResult>")


def _cases():
    yield from HAND_PICKED
    rng = random.Random(SEED)
    for n in range(GENERATED):
        yield f"generated {n}", generated(rng)


def test_pages_read_as_botocore_reads_them():
    kinds = set()
    for name, text in _cases():
        body = text.encode()
        expected = botocore_page(body)
        assert baiji_page(body) == expected, (name, text)
        kinds.update(k for k in ("Contents", "CommonPrefixes") if k in expected[0])
        kinds.update(["truncated"] if expected[1] else [])
    assert kinds == {"Contents", "CommonPrefixes", "truncated"}


@pytest.mark.parametrize("missing", ["Key", "Size", "LastModified"])
def test_an_object_without_its_key_size_or_time_is_refused(missing):
    """botocore leaves the field out; a page without them is garbled, and the lister retries it."""
    fields = {"Key": "k", "Size": "1", "LastModified": "2026-01-02T03:04:05Z"}
    body = "<ListBucketResult><Contents>" + "".join(
        element(k, v) for k, v in fields.items() if k != missing) + "</Contents></ListBucketResult>"
    with pytest.raises(KeyError):
        baiji_page(body.encode())


def test_a_truncated_page_without_a_token_is_refused():
    with pytest.raises(KeyError):
        baiji_page(b"<ListBucketResult><IsTruncated>true</IsTruncated></ListBucketResult>")


def test_a_listed_object_becomes_the_entry_a_full_reading_makes():
    from baiji.stores.s3_control import entry_of, listed_entry

    objects = [obj for _, text in _cases() for obj in baiji_page(text.encode())[0].get("Contents", [])]
    assert objects and any("ETag" not in obj for obj in objects)
    for obj in objects:
        assert listed_entry("s3://b/" + obj["Key"], obj) == entry_of("s3://b/" + obj["Key"], obj), obj
