"""The sign-bit prefilter: nearest entries of one partition, removal, growth."""

from __future__ import annotations

import numpy as np

from helix.cache.index import BitIndex, sign_bits


def unit(rng: np.random.Generator, n: int) -> np.ndarray:
    vectors = rng.standard_normal((n, 384)).astype(np.float32)
    return vectors / np.linalg.norm(vectors, axis=1, keepdims=True)


def test_nearest_finds_the_true_neighbour_within_the_partition_only() -> None:
    rng = np.random.default_rng(1)
    vectors = unit(rng, 5000)
    index = BitIndex()
    partitions = [b"A" * 16 if i % 2 == 0 else b"B" * 16 for i in range(5000)]
    index.add_many(list(range(1, 5001)), partitions, [sign_bits(v) for v in vectors])
    query = vectors[42] + 0.05 * unit(rng, 1)[0]  # a near-duplicate of entry 43 (partition A)
    assert 43 in index.nearest(b"A" * 16, sign_bits(query), 5)
    assert 43 not in index.nearest(b"B" * 16, sign_bits(query), 5)
    assert all(i % 2 == 1 for i in index.nearest(b"A" * 16, sign_bits(query), 50))  # ids of partition A are odd
    assert index.nearest(b"C" * 16, sign_bits(query), 5) == []


def test_small_partitions_return_every_member_and_removal_hides_entries() -> None:
    rng = np.random.default_rng(2)
    vectors = unit(rng, 3)
    index = BitIndex()
    for i, v in enumerate(vectors, start=1):
        index.add(i, b"P" * 16, sign_bits(v))
    assert sorted(index.nearest(b"P" * 16, sign_bits(vectors[0]), 10)) == [1, 2, 3]
    index.remove({2})
    assert sorted(index.nearest(b"P" * 16, sign_bits(vectors[0]), 10)) == [1, 3]
    assert len(index) == 2


def test_growth_keeps_earlier_entries() -> None:
    rng = np.random.default_rng(3)
    vectors = unit(rng, 3000)
    index = BitIndex()
    for i, v in enumerate(vectors, start=1):  # one at a time, past several capacity doublings
        index.add(i, b"G" * 16, sign_bits(v))
    assert len(index) == 3000
    assert index.nearest(b"G" * 16, sign_bits(vectors[0]), 1) == [1]
    assert index.nearest(b"G" * 16, sign_bits(vectors[2999]), 1) == [3000]
