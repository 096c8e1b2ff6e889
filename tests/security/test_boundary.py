"""The boundary's reading of what every request carries, where the in-process test server's C
parser never lets a case through: aiohttp's pure-Python parser keeps a path's bytes that are
not UTF-8 as surrogate escapes, and they must be a 400, not an encoding error."""

from __future__ import annotations

import pytest
from aiohttp.test_utils import make_mocked_request
from yarl import URL

from alerts.web import boundary


@pytest.mark.parametrize("path", [
    "/x\udcff\udcfe",  # raw bytes 0xff 0xfe, as the pure-Python parser hands them over
    "/x%FF%FE",  # the same bytes percent-escaped
    "/x%0aCRITICAL%20forged",  # a line feed
    "/x%ED%A0%80",  # a surrogate encoded as UTF-8 would, which UTF-8 forbids
    "/x?q=%FF",
    "/x?q=%00",
])
def test_a_path_or_query_that_is_not_text_is_a_400(path):
    raw_path, _, query = path.partition("?")
    # Built as the pure-Python parser builds it: the path taken as it came, escapes and all.
    request = make_mocked_request("GET", "/").clone(rel_url=URL.build(path=raw_path, query_string=query, encoded=True))
    with pytest.raises(boundary.BadRequest) as refused:
        boundary._check_request_line(request)
    assert refused.value.status == 400 and set(refused.value.fields) <= {"path", "query", "query q"}


@pytest.mark.parametrize("path", ["/", "/alerts/12?lang=ar", "/x/%D8%A8%D8%A7%D9%83%D9%88?q=Bak%C4%B1"])
def test_text_paths_pass(path):
    boundary._check_request_line(make_mocked_request("GET", path))
