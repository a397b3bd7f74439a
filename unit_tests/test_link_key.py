"""Link keys compare a URL whichever form Twenty stored it in (issue 19, item 9): the v2-line server stores
`say"hi` as `say%22hi` (as `new URL()` gives it), other versions as written."""

from destination_twenty.mapping.keys import link_key
from destination_twenty.twenty.filters import alone_filter, fits_in_a_list


def test_a_link_stored_percent_encoded_has_the_key_of_the_link_sent():
    assert link_key('https://C.example/say"hi') == link_key("https://c.example/say%22hi")
    assert link_key("https://c.example/a b/{x}") == link_key("https://c.example/a%20b/%7Bx%7d")
    assert (
        link_key("https://c.example/100%25") == "https://c.example/100%25"
    )  # other escapes stay as they are


def test_keys_that_may_be_stored_in_two_forms_are_looked_up_alone_with_a_wildcard_for_both():
    assert not fits_in_a_list("https://c.example/a{b")
    assert alone_filter("p", 'https://c.example/say"hi') == "p[like]:https://c.example/say%hi"
    assert alone_filter("p", "https://c.example/(x)") == "p[like]:https://c.example/_x_"
    assert alone_filter("p", "https://c.example/100%_\\") == "p[like]:https://c.example/100\\%\\_\\\\"
