"""The odd inputs the fuzzer mixes in: strange strings, tricks in URI labels and query strings,
content types a JSON body may or may not come with, and HTTP methods."""

from __future__ import annotations

WEIRD_STRINGS = [
    "", " ", "  leading", "trailing  ", "tab\there", "new\nline", "nul\x00byte", "bell\x07", "\ud800",
    "lone surrogate \udfff end", "zero\u200bwidth", "rtl\u202eoverride", "e\u0301 combining", "🧬" * 30,
    "é" * 127, "%2e%2e%2f", "../../etc/passwd", "..\\..\\windows", "'; DROP TABLE sequence_stores; --",
    "\" OR 1=1 --", "${jndi:ldap://x}", "{{7*7}}", "<script>alert(1)</script>", "\\u0000", "%00", "NaN",
    "null", "0", "-1", "1e999", "９８７６５４３２１０", "٠١٢٣٤٥٦٧٨٩", "ＡＢＣ", "\uffff", "\U0010ffff",
]
LABEL_TRICKS = [
    "%2e%2e", "%2E%2E", "..", ".", "%2e", "%2F", "%2f", "..%2F..%2F", "%2F..%2F..%2Fsequencestores",
    "%00", "%00{v}", "{v}%00", "{v}%2F..", "{v}%2F", "%252e%252e", "%252F", "%C0%AE%C0%AE", "%c0%af",
    "%ZZ", "%", "%2", "{v}%", "%C3%A9", "é", "中文", "%F0%9F%A7%AC", "%ED%A0%80", "%FF%FE", "+", "%20",
    "%20{v}", "{v}%20", "{v}+", "%09{v}", "{v}%0D%0A", "{v};x=1", "%3F", "%23", "{v}%23frag",
    "~{v}", "{v}~", "-{v}", "0x{v}", "{v}.0", "{v}e0", "１２３４５６７８９０", "٠١٢٣٤٥٦٧٨٩", "A" * 300,
    "9" * 40, "9" * 5000, "%41" * 100, "{v}/..", "{v}/.", "../{v}", "./{v}",
]
# Tricks that may leave a valid request (a raw `?` ends the path early, the router ignores a
# trailing `/`, two ids make another well-formed id): aimed at the scratch store.
MAYBE_VALID_LABEL_TRICKS = ["{v}//", "{v}?x", "{v}?", "{v}{v}", "{v}/", "{v}#frag"]
QUERY_TRICKS = [
    "unknown=1", "x-debug=true", "maxResults=1&maxResults=2", "partNumber=1&partNumber=1", "=", "&&&", "a",
    "%ZZ=1", "a=%ZZ", "a=%", "%00=%00", "a=%00", "nextToken=%07", "nextToken=" + "A" * 6145,
    "maxResults=" + "9" * 40, "maxResults=-1", "maxResults=0", "maxResults=1.5", "maxResults=%31",
    "partNumber=%31", "partNumber=1%00", "partNumber=0x1", "partNumber= 1", "file=source1", "file=%E2%98%83",
    "tagKeys=", "tagKeys=%2F..%2F", "x=" + "y" * 4000, "%C3%A9=%C3%A9", "a=1;b=2", "a+b=c+d", "a=1#frag",
]
REFUSED_CONTENT_TYPES = ["text/plain", "application/xml", "application/x-www-form-urlencoded", "multipart/form-data",
                         "application/jsonx", "*/*", "application/octet-stream", "application/json\u00e9", "json"]
# Content types a JSON body may come with (parameters and case do not matter; empty is none).
ACCEPTED_CONTENT_TYPES = ["APPLICATION/JSON", "application/json;", "application/json; charset=utf-8", "",
                          "application/x-amz-json-1.0", " application/json "]
METHODS = ["GET", "PUT", "POST", "DELETE", "PATCH", "HEAD", "OPTIONS", "TRACE", "CONNECT", "FOO", "get"]
