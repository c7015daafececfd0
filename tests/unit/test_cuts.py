"""The store both prefix cuts keep their records in (cuts.py): bounded by count and bytes,
least recently used out, a found record replaced by its conversation's next one."""

from __future__ import annotations

from typing import NamedTuple

from hotswap.body.prefix import PrefixSplitter
from hotswap.reading.cuts import CutStore, tail_document
from hotswap.wire.openai_prefix import Cut, Cuts


class Rec(NamedTuple):
    name: str
    cost: int


def names(store: CutStore[Rec]) -> list[str]:
    return [rec.name for _, rec in store.recent()]


def test_most_recent_first_and_the_oldest_out_past_the_count() -> None:
    store: CutStore[Rec] = CutStore(max_records=2, max_bytes=100)
    for name in "abc":
        store.keep(Rec(name, 10))
    assert names(store) == ["c", "b"] and store.size == 20


def test_past_the_byte_budget_the_least_recently_used_goes() -> None:
    store: CutStore[Rec] = CutStore(max_records=8, max_bytes=25)
    store.keep(Rec("a", 10))
    store.keep(Rec("b", 10))
    key_a = next(key for key, rec in store.recent() if rec.name == "a")
    store.used(key_a)  # found again: b is now the oldest
    store.keep(Rec("c", 10))
    assert names(store) == ["c", "a"] and store.size == 20


def test_a_record_larger_than_the_budget_is_not_kept() -> None:
    store: CutStore[Rec] = CutStore(max_records=8, max_bytes=25)
    store.keep(Rec("a", 10))
    store.keep(Rec("huge", 26))
    assert names(store) == ["a"] and store.size == 10


def test_the_record_a_request_was_found_by_makes_way_for_its_next() -> None:
    store: CutStore[Rec] = CutStore(max_records=8, max_bytes=100)
    store.keep(Rec("a1", 10))
    store.keep(Rec("b", 10))
    key = next(key for key, rec in store.recent() if rec.name == "a1")
    store.keep(Rec("a2", 12), replaces=key)
    assert names(store) == ["a2", "b"] and store.size == 22
    store.keep(Rec("a3", 12), replaces=key)  # already gone: nothing else goes
    assert names(store) == ["a3", "a2", "b"]


def test_the_tail_document_stands_a_zero_in_for_the_shared_messages() -> None:
    raw = b'{"model":"m","messages":[{"a":1},{"b":2}],"x":3}'
    pos = raw.index(b"}") + 1  # the end of the first message
    assert tail_document(raw, pos, len(raw) - 1) == b'{"messages":[0,{"b":2}],"x":3}'


def test_both_layers_keep_their_cuts_in_the_shared_store() -> None:
    """The body layer's split and the Chat Completions translation are budgeted alike."""
    assert isinstance(PrefixSplitter(), CutStore)
    cuts = Cuts(max_bytes=1000)
    assert isinstance(cuts, CutStore)
    raw = b'{"messages":[{"role":"user","content":"hi"},{"role":"user","content":"x"}]}'
    ends = [raw.index(b"},") + 1, len(raw) - 2]
    cuts.keep(Cut(raw, ends, [b"a", b"b"], None))
    found = cuts.find(raw[: ends[0]] + b',{"role":"user","content":"y"}]}')
    assert found is not None and found.shared == 1
    cuts.keep(Cut(raw + b" ", ends, [b"a", b"b"], None), replaces=found.key)
    assert len(cuts) == 1 and cuts.size == Cut(raw + b" ", ends, [b"a", b"b"], None).cost
