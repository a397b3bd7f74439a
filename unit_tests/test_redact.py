"""redact.py: a password written into a URL never reaches a message (issue 19, item 8)."""

import pytest

from destination_twenty.redact import redact_url, redact_urls


@pytest.mark.parametrize(
    "url, shown",
    [
        ("https://user:pw@host.example/x", "https://****@host.example/x"),
        ("https://us@er:p@w@host.example", "https://****@host.example"),  # an unencoded @ in the password
        ("user:pw@host.example", "****@host.example"),  # pasted without a scheme
        ("https://user:pw@[::1", "https://****@[::1"),  # cannot be parsed, still redacted
        ("https://host.example/a@b", "https://host.example/a@b"),  # an @ in the path is no credential
        ("https://host.example", "https://host.example"),
    ],
)
def test_redact_url(url, shown):
    assert redact_url(url) == shown


def test_redact_urls_in_free_text():
    text = "failed: HTTPConnectionPool(url='http://a:b@h:1/rest') and https://x:y@z/?q=1, mail a@b.example"
    assert redact_urls(text) == (
        "failed: HTTPConnectionPool(url='http://****@h:1/rest') and https://****@z/?q=1, mail a@b.example"
    )
