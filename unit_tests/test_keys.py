import pytest
from hypothesis import given
from hypothesis import strategies as st

from destination_twenty.mapping.keys import normalize_url, normalize_url_strict, unique_keys


@pytest.mark.parametrize(
    "url", ["https://[::1", "http://[::1/x", "https://a.example:99999", "https://a.example:x/"]
)
def test_a_url_that_cannot_be_parsed_is_kept_as_written_for_keys_and_refused_when_strict(url):
    # Twenty's lowercaseUrlOriginAndRemoveTrailingSlash keeps what `new URL()` cannot parse.
    assert normalize_url(f" {url} ") == url
    with pytest.raises(ValueError):
        normalize_url_strict(url)


def test_a_stored_record_with_a_broken_link_still_gives_its_keys(companies):
    # batch.py pairs rows read back from Twenty by these keys: a broken stored link must not end the sync.
    row = {"id": "ABC", "domainName": {"primaryLinkUrl": "https://[::1"}}
    assert unique_keys(row, companies) == [("id", "abc"), ("domainName.primaryLinkUrl", "https://[::1")]


@given(st.text(alphabet="ab:/.[]%@?#1 ", max_size=30))
def test_normalize_url_never_raises(url):
    assert isinstance(normalize_url(url), str)


@given(st.text(alphabet="abcXYZ:/.-", max_size=30))
def test_strict_and_lenient_agree_on_parseable_urls(url):
    try:
        strict = normalize_url_strict(url)
    except ValueError:
        # Unparseable (`X://::`: a port that is no number): the lenient form keeps the text as written.
        assert normalize_url(url) == url.strip()
    else:
        assert strict == normalize_url(url)
