"""Building items: the ids the connector chooses for records it creates."""

from destination_twenty.config import TwentyConfig
from destination_twenty.mapping.mapper import Mapper
from destination_twenty.write.items import Item, ItemBuilder, Rejection


def builder(upsert=False, primary_keys=None):
    config = TwentyConfig.from_mapping(
        {"api_key": "k" * 40, "api_url": "http://127.0.0.1:1", "mode": "notes", "upsert": upsert}
    )
    return ItemBuilder(config, Mapper(config.column_mapping), None, primary_keys or {}, lambda payload: False)


def test_identical_rows_get_distinct_ids_that_repeat_after_each_state():
    b = builder()
    first = [b.build("memos", {"title": "same"}).payload["id"] for _ in range(2)]
    assert first[0] != first[1]
    b.state_received(["memos"])
    after = [b.build("memos", {"title": "same"}).payload["id"] for _ in range(2)]
    assert after == first  # a replay from that state gives the same ids
    other = builder()
    assert [other.build("memos", {"title": "same"}).payload["id"] for _ in range(2)] == first


def test_a_state_of_another_stream_does_not_restart_the_count():
    b = builder()
    one = b.build("memos", {"title": "same"}).payload["id"]
    b.state_received(["other"])
    assert b.build("memos", {"title": "same"}).payload["id"] != one


def test_the_primary_key_gives_the_id_whatever_the_content():
    b = builder(primary_keys={"memos": [["pk"]]})
    one = b.build("memos", {"pk": 7, "title": "v1"})
    two = b.build("memos", {"pk": 7, "title": "v2"})
    assert isinstance(one, Item) and isinstance(two, Item)
    assert one.payload["id"] == two.payload["id"] and one.client_id


def test_a_record_that_is_no_object_is_a_rejection_with_its_position():
    b = builder()
    b.build("memos", {"title": "fine"})
    rejected = b.build("memos", ["not", "an", "object"])
    assert isinstance(rejected, Rejection) and rejected.position == 2 and "list" in rejected.reason
