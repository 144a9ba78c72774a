"""A corpus of bad and odd audio inputs, all generated in `tmp_path`. Each one either loads correctly (checked
against what was written: exact values, length after resampling, spectral peak) or raises an `AudioLoadError`
whose message names the file and a specific cause; each goes once through an `AudioDataLoaders` too.
What every input gives is tabulated in notes/issue7_inputs.md."""
import base64
import os
import pickle
import random
import re
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import soundfile as sf
import torch

from conftest import tone, write
from fastai_audio import AudioDataLoaders
from fastai_audio.core import AudioLoadError, load_audio
from fastai_audio.data.loading import AudioLoader

SR = 16000
PNG_1X1 = base64.b64decode('iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNk+M9QDwADhgGAWjR9aw'
                           'AAAABJRU5ErkJggg==')                   # a real 1x1 PNG (70 bytes)
BITS = {'PCM_U8': 8, 'PCM_16': 16, 'PCM_24': 24, 'PCM_32': 32}
as_root = pytest.mark.skipif(os.geteuid() == 0, reason='root reads any file: a permission error cannot happen')
needs_mp3 = pytest.mark.skipif('MP3' not in sf.available_formats(), reason='this libsndfile has no MP3 support')


# --------------------------------------------------------------------------- writing inputs
def q16(seconds=1.0, freq=440.0, sr=SR):
    "A tone as 16-bit integers: written as such, it reads back as exactly `q16 / 32768`."
    return np.round(tone(freq, sr, seconds) * 32767).astype(np.int16)


def pcm16(path, seconds=1.0, fmt=None):
    "A 16-bit file of a 440 Hz tone (`fmt`: a soundfile format, else from the extension); (path, its samples)."
    q = q16(seconds)
    write(path, q, SR, 'PCM_16', **({'format': fmt} if fmt else {}))
    return path, q[None] / np.float32(32768)


def cut(src, dst, n_bytes):
    "`dst` holding the first `n_bytes` of `src`."
    dst.write_bytes(src.read_bytes()[:n_bytes])
    return dst


def data_offset(wav: Path) -> int:
    "Where the samples of a WAV start (after its 'data' chunk header)."
    return wav.read_bytes().index(b'data') + 8


def flac_metadata_end(flac: Path) -> int:
    "Where the audio frames of a FLAC start (after its last metadata block)."
    b, pos = flac.read_bytes(), 4
    while True:
        last, n = b[pos] & 0x80, int.from_bytes(b[pos + 1:pos + 4], 'big')
        pos += 4 + n
        if last: return pos


def flac_without_length(src: Path, dst: Path, keep_frames=True) -> Path:
    "`src` with the total number of samples in its STREAMINFO set to 0 (unknown), as a streaming encoder writes."
    b = bytearray(src.read_bytes())
    info = 8                                  # STREAMINFO's body: after 'fLaC' and its 4-byte block header
    b[info + 13] &= 0xF0                      # the 36-bit count: low nibble of byte 13, then bytes 14-17
    b[info + 14:info + 18] = bytes(4)
    dst.write_bytes(bytes(b if keep_frames else b[:flac_metadata_end(src)]))
    return dst


def peak_hz(x, sr):
    "Frequency of the largest bin of the magnitude spectrum of a 1-D signal."
    x = np.asarray(x)
    return np.fft.rfftfreq(len(x), 1 / sr)[np.abs(np.fft.rfft(x)).argmax()]


# --------------------------------------------------------------------------- bad inputs: (path, cause)
def _zero_bytes(d):
    (d / 'zero.wav').write_bytes(b'')
    return d / 'zero.wav', 'the file is empty (0 bytes)'


def _wav_header_only(d):
    w, _ = pcm16(d / 'whole.wav')
    return (cut(w, d / 'header.wav', data_offset(w)),
            'truncated: the header declares 32000 bytes of audio but the file holds 0')


def _wav_no_data_chunk(d):
    w, _ = pcm16(d / 'whole.wav')
    return cut(w, d / 'fmt_only.wav', data_offset(w) - 8), 'truncated: no audio data chunk after the header'


def _wav_cut(kept):
    "A 1 s 16-bit WAV (32000 bytes of samples) cut `kept` bytes into its samples."
    def make(d):
        w, _ = pcm16(d / 'whole.wav')
        f = cut(w, d / 'cut.wav', data_offset(w) + kept)
        return f, f'truncated: the header declares 32000 bytes of audio but the file holds {kept}'
    return make


def _cut_in_half(fmt, chunk, declared):
    """A 1 s 16-bit file in `fmt` cut in half; its samples start after `chunk` (+8 bytes), or for AU at the offset
    its header gives; `declared` is the audio size its header gives."""
    def make(d):
        w, _ = pcm16(d / 'whole', fmt=fmt)
        b, n = w.read_bytes(), w.stat().st_size // 2
        start = b.index(chunk) + 8 if chunk else int.from_bytes(b[4:8], 'big')
        return cut(w, d / 'cut', n), f'truncated: the header declares {declared} bytes of audio but the file holds ' \
                                     f'{n - start}'
    return make


def _flac_header_only(d):
    fl, _ = pcm16(d / 'whole.flac')
    return (cut(fl, d / 'header.flac', flac_metadata_end(fl)),
            'truncated: the header declares 16000 samples but no audio frames follow it')


def _flac_no_frames_no_length(d):
    fl, _ = pcm16(d / 'whole.flac')
    return flac_without_length(fl, d / 'empty.flac', keep_frames=False), 'the file contains no samples'


def _flac_cut(d, where):
    fl, _ = pcm16(d / 'whole.flac')
    n = fl.stat().st_size // 2 if where == 'half' else fl.read_bytes().index(b'\xff\xf8', flac_metadata_end(fl) + 2)
    return (cut(fl, d / 'cut.flac', n),
            'truncated or corrupt audio data: the header declares 16000 samples but decoding failed')


def _flac_without_length(d):
    fl, _ = pcm16(d / 'whole.flac')
    return flac_without_length(fl, d / 'stream.flac'), 'the header does not give the number of samples'


def _not_audio(name, content, what):
    "A file `name` holding `content`, which no decoder reads; `what` the message says it holds."
    def make(d):
        (d / name).write_bytes(content)
        return d / name, f'not a readable audio file{what} (soundfile: Format not recognised'
    return make


def _non_finite(subtype):
    def make(d):
        y = tone()
        y[[10, 20, 30]], y[[40, 50]] = np.nan, [np.inf, -np.inf]
        return write(d / 'nan.wav', y, SR, subtype), 'the file contains 5 NaN or infinite samples (3 NaN, 2 infinite)'
    return make


def _one_sample_at_96k(d):
    return (write(d / 'one96k.wav', np.full(1, 0.5, np.float32), 96000, 'FLOAT'),
            'too short to resample from 96000 to 16000 Hz: 1 sample(s) give none')


def _directory(d):
    (d / 'folder.wav').mkdir()
    return d / 'folder.wav', 'is a directory, not a file'


def _missing(d): return d / 'missing.wav', 'no such file'


def _broken_symlink(d):
    (d / 'dangling.wav').symlink_to(d / 'gone.wav')
    return d / 'dangling.wav', 'a broken symbolic link (its target does not exist)'


def _unreadable(d):
    f, _ = pcm16(d / 'locked.wav')
    f.chmod(0)
    return f, 'cannot be read (Permission denied)'


def case(name, make, marks=(), **kwargs):
    "A bad input: `make(folder) -> (path, cause)`, loaded with `kwargs`."
    return pytest.param(make, kwargs, id=name, marks=marks)


BAD = [
    case('zero-bytes', _zero_bytes),
    case('wav-header-only', _wav_header_only),
    case('wav-without-data-chunk', _wav_no_data_chunk),
    case('wav-cut-mid-data', _wav_cut(16000)),
    case('wav-cut-mid-sample', _wav_cut(16001)),
    case('rf64-wav-cut', _cut_in_half('RF64', b'data', 32000)),
    case('aiff-cut', _cut_in_half('AIFF', b'SSND', 32008)),          # SSND counts its 8-byte offset/block size
    case('au-cut', _cut_in_half('AU', None, 32000)),
    case('flac-header-only', _flac_header_only),
    case('flac-no-frames-no-length', _flac_no_frames_no_length),
    case('flac-cut-in-half', lambda d: _flac_cut(d, 'half')),
    case('flac-cut-after-first-frame', lambda d: _flac_cut(d, 'frame')),
    case('flac-streamed-without-length', _flac_without_length),
    case('text-named-wav', _not_audio('notes.wav', b'just some text, not audio\n' * 10, ': it is text')),
    case('html-named-wav', _not_audio('page.wav', b'<!DOCTYPE html><html><body>404 Not Found</body></html>',
                                      ': it is an HTML page')),
    case('git-lfs-pointer-named-wav', _not_audio(
        'lfs.wav', b'version https://git-lfs.github.com/spec/v1\noid sha256:' + b'0' * 64 + b'\nsize 32044\n',
        ': it is a Git LFS pointer, not the audio itself (fetch it: git lfs pull)')),
    case('png-named-wav', _not_audio('pixel.wav', PNG_1X1, ': it is a PNG image')),
    case('random-bytes-named-wav', _not_audio('noise.wav', np.random.default_rng(0).bytes(4096), '')),
    case('float32-nan-inf', _non_finite('FLOAT')),
    case('float64-nan-inf', _non_finite('DOUBLE')),
    case('one-sample-at-96k-to-16k', _one_sample_at_96k, sr=SR),
    case('directory', _directory),
    case('missing', _missing),
    case('broken-symlink', _broken_symlink),
    case('no-read-permission', _unreadable, marks=as_root),
]


@pytest.mark.parametrize('make,kwargs', BAD)
def test_bad_input_raises_naming_file_and_cause(tmp_path, make, kwargs):
    path, cause = make(tmp_path)
    with pytest.raises(AudioLoadError, match=re.escape(cause)) as e:
        load_audio(path, **kwargs)
    assert f"'{path}'" in str(e.value) and e.value.path == path


def _df_loaders(d, train, valid, num_workers=0):
    "`AudioDataLoaders.from_df` of waveforms, one a batch, from files under `d`: lists `train` and `valid`, label 'a'."
    rows = [(str(f.relative_to(d)), 'a', v) for files, v in ((train, False), (valid, True)) for f in files]
    return AudioDataLoaders.from_df(pd.DataFrame(rows, columns=['f', 'y', 'v']), d, valid_col='v', batch_tfms=[],
                                    bs=1, num_workers=num_workers)


@pytest.mark.parametrize('make,kwargs', BAD)
def test_bad_input_through_dataloader_names_file(tmp_path, make, kwargs):
    """Building the loaders decodes only the first training item; iterating reaches the bad one and says which.
    (The loaders load at 16 kHz: the `kwargs` of the one case that has any.)"""
    path, cause = make(tmp_path)
    good, _ = pcm16(tmp_path / 'good.wav')
    dls = _df_loaders(tmp_path, [good, path], [good])
    with pytest.raises(AudioLoadError, match=re.escape(cause)) as e:
        for _ in dls.train.new(shuffle=False): pass
    assert f"'{path}'" in str(e.value)


def test_bad_first_item_fails_when_building_the_loaders(tmp_path):
    path, cause = _zero_bytes(tmp_path)
    good, _ = pcm16(tmp_path / 'good.wav')
    with pytest.raises(AudioLoadError, match=re.escape(f"'{path}': {cause}")):
        _df_loaders(tmp_path, [path, good], [good])


def test_error_in_a_worker_process_is_still_an_audio_load_error(tmp_path):
    "torch re-raises a worker's error as `type(error)(message)`: it stays an `AudioLoadError` with path and cause."
    good, _ = pcm16(tmp_path / 'good.wav')
    later, _ = pcm16(tmp_path / "later's.wav")
    dls = _df_loaders(tmp_path, [good, later], [good], num_workers=1)
    later.write_text('not audio any more')
    with pytest.raises(AudioLoadError, match='in DataLoader worker process') as e:
        for _ in dls.train.new(shuffle=False): pass
    assert e.value.path == later and e.value.cause.startswith('not a readable audio file: it is text (')
    again = pickle.loads(pickle.dumps(e.value))
    assert (type(again), again.path, again.cause, str(again)) == (AudioLoadError, later, e.value.cause, str(e.value))


# --------------------------------------------------------------------------- inputs that load: (path, samples)
def _pcm(subtype):
    """An integer WAV: the format's most negative and largest values, 0, then a tone, written as integers (in an
    int16 or int32 container, value in the top bits) so that the expected floats are exact: value / 2**(bits-1)."""
    def make(d):
        bits = BITS[subtype]
        full = 2 ** (bits - 1)
        q = np.concatenate([[-full, full - 1, 0], np.round(tone(440, SR, 0.25) * (full - 1))]).astype(np.int64)
        container = np.int16 if bits <= 16 else np.int32
        shift = 8 * container().itemsize - bits
        path = write(d / f'{subtype}.wav', (q << shift).astype(container), SR, subtype)
        return path, (q / full).astype(np.float32)[None]
    return make


def _float(subtype):
    "A float WAV holding values beyond +-1 (kept as written: they are the data), then a tone."
    def make(d):
        y = np.concatenate([[0, 1.5, -2.0, 3.25, -0.75, 1000.0], tone(440, SR, 0.25)])
        return write(d / f'{subtype}.wav', y.astype(np.float64), SR, subtype), y.astype(np.float32)[None]
    return make


def _renamed(fmt, name):
    "A 16-bit file in `fmt` under a misleading `name`: decoding goes by content."
    def make(d):
        f, y = pcm16(d / 'original', fmt=fmt)
        return f.rename(d / name), y
    return make


def octo():
    "Eight channels `(samples, 8)`: channel k a tone of 220 (k + 1) Hz at amplitude 0.1 (k + 1)."
    return np.stack([tone(220 * (k + 1), SR, 0.25, amp=0.1 * (k + 1)) for k in range(8)], 1)


def _eight_channels(d):
    "Mono: the mean of the eight channels."
    return write(d / 'octo.wav', octo(), SR, 'FLOAT'), octo().mean(axis=1, dtype=np.float32)[None]


def _one_sample(d):
    return write(d / 'one.wav', np.array([8192], np.int16), SR, 'PCM_16'), np.full((1, 1), 0.25, np.float32)


def _symlink(d):
    target, y = pcm16(d / 'target.wav')
    (d / 'link.wav').symlink_to(target)
    return d / 'link.wav', y


def _odd_path(d):
    (d / 'dir with spaces').mkdir()
    return pcm16(d / 'dir with spaces' / 'ünïcødé 音.wav')


# `make(folder) -> (path, samples)`; the samples are exact but for a mean of channels (float32 sums: 1e-7)
GOOD = [pytest.param(make, atol, id=name) for name, make, atol in [
    ('pcm-u8', _pcm('PCM_U8'), 0), ('pcm-16', _pcm('PCM_16'), 0), ('pcm-24', _pcm('PCM_24'), 0),
    ('pcm-32', _pcm('PCM_32'), 0), ('float32-beyond-1', _float('FLOAT'), 0), ('float64-beyond-1', _float('DOUBLE'), 0),
    ('flac-named-wav', _renamed('FLAC', 'flac.wav'), 0), ('wav-named-flac', _renamed('WAV', 'wav.flac'), 0),
    ('aiff-named-wav', _renamed('AIFF', 'aiff.wav'), 0), ('8-channels-to-mono', _eight_channels, 1e-7),
    ('one-sample', _one_sample, 0), ('symlink-to-wav', _symlink, 0), ('spaces-and-non-ascii-path', _odd_path, 0),
]]


@pytest.mark.parametrize('make,atol', GOOD)
def test_odd_input_loads_exactly(tmp_path, make, atol):
    path, want = make(tmp_path)
    x = load_audio(path)
    assert x.sr == SR and x.dtype == torch.float32 and x.shape == want.shape
    np.testing.assert_allclose(x.numpy(), want, rtol=0, atol=atol)


@pytest.mark.parametrize('make,atol', GOOD)
def test_odd_input_through_dataloader(tmp_path, make, atol):
    "A validation batch (no crop, and no resampling at 16 kHz) holds the file's samples."
    path, want = make(tmp_path)
    x = _df_loaders(tmp_path, [path], [path]).valid.one_batch()[0]
    assert x.shape == (1, *want.shape)
    np.testing.assert_allclose(x[0].numpy(), want, rtol=0, atol=atol)


@pytest.mark.parametrize('subtype', list(BITS))
def test_integer_files_scale_to_minus_one_up_to_one_and_keep_the_tone(tmp_path, subtype):
    path, _ = _pcm(subtype)(tmp_path)
    x = load_audio(path)[0].numpy()
    step = 2.0 ** (1 - BITS[subtype])
    assert x.min() == -1.0 and x.max() == 1 - step and x[2] == 0.0          # [-1, 1): the extremes of the format
    np.testing.assert_allclose(x[3:], tone(440, SR, 0.25), rtol=0, atol=step)  # the tone within one step


def test_eight_channels_kept_apart(tmp_path):
    path, _ = _eight_channels(tmp_path)
    x = load_audio(path, mono=False)
    assert x.shape == (8, SR // 4) and x.nchannels == 8
    np.testing.assert_array_equal(x.numpy(), octo().T)


@pytest.mark.parametrize('fmt,subtype,name,freq_tol', [
    pytest.param('OGG', 'VORBIS', 'vorbis.mp3', 4, id='ogg-named-mp3'),
    pytest.param('MP3', 'MPEG_LAYER_III', 'mp3.wav', 3, id='mp3-named-wav', marks=needs_mp3),
])
def test_lossy_file_with_wrong_extension_loads(tmp_path, fmt, subtype, name, freq_tol):
    f = write(tmp_path / 'original', tone(440, SR, 1.0), SR, subtype, format=fmt).rename(tmp_path / name)
    x = load_audio(f)
    assert x.sr == SR and abs(x.shape[-1] - SR) < 2048
    assert peak_hz(x[0], SR) == pytest.approx(440, abs=freq_tol)


def test_cut_flac_slice_before_the_cut_loads_exactly_and_past_it_fails(tmp_path):
    "A training crop decodes only its slice: intact samples of a cut FLAC load, the missing ones raise."
    path, _ = _flac_cut(tmp_path, 'half')
    want = q16() / np.float32(32768)
    np.testing.assert_array_equal(load_audio(path, duration=0.1)[0].numpy(), want[:1600])
    with pytest.raises(AudioLoadError, match=re.escape('decoding failed (reading 1600 from sample 14400)')):
        load_audio(path, offset=0.9, duration=0.1)


@needs_mp3
def test_cut_mp3_warns_and_loads_what_remains(tmp_path):
    "An MP3's header length is not reliable enough for an error; a short decode warns, and what decodes is right."
    whole = write(tmp_path / 'whole.mp3', tone(440, SR, 1.0), SR, 'MPEG_LAYER_III', format='MP3')
    f = cut(whole, tmp_path / 'cut.mp3', whole.stat().st_size // 2)
    with pytest.warns(UserWarning, match=re.escape(f"'{f}': decoded ") + r'\d+ samples from sample 0 where the '
                                         r'header declares 16000: the file is probably truncated'):
        x = load_audio(f)
    n = x.shape[-1]
    assert 0 < n < SR
    np.testing.assert_array_equal(x.numpy(), load_audio(whole)[:, :n].numpy())


@pytest.mark.parametrize('file_sr,n', [pytest.param(8000, 2961, id='8k'), pytest.param(96000, 35521, id='96k'),
                                       pytest.param(11025, 4001, id='11.025k')])
def test_resampled_length_and_tone_frequency(tmp_path, file_sr, n):
    y = (0.5 * np.sin(2 * np.pi * 1000 * np.arange(n) / file_sr)).astype(np.float32)
    x = load_audio(write(tmp_path / 'r.wav', y, file_sr, 'FLOAT'), sr=SR)
    assert x.sr == SR and abs(x.shape[-1] - round(n * SR / file_sr)) <= 1
    assert abs(peak_hz(x[0], SR) - 1000) <= SR / x.shape[-1]                   # within one bin of 1 kHz
    assert float(x[0, 200:-200].abs().max()) == pytest.approx(0.5, abs=0.01)


def test_odd_paths_in_folders_and_error_messages(tmp_path):
    "Spaces, non-ASCII characters and quotes: a label folder and file names load, and errors name them exactly."
    for split in ('train', 'valid'):
        (tmp_path / split / 'dir with spaces').mkdir(parents=True)
        pcm16(tmp_path / split / 'dir with spaces' / 'ünïcødé 音.wav', seconds=0.5)
    dls = AudioDataLoaders.from_folder(tmp_path, batch_tfms=[], bs=1, num_workers=0)
    x = dls.valid.one_batch()[0]
    assert list(dls.vocab) == ['dir with spaces'] and x.shape == (1, 1, SR // 2)
    np.testing.assert_array_equal(x[0].numpy(), q16(0.5)[None] / np.float32(32768))
    bad = tmp_path / 'train' / 'dir with spaces' / "bröken 'quoted' 音.wav"
    bad.write_text('not audio')
    with pytest.raises(AudioLoadError) as e:
        load_audio(bad)
    assert str(e.value).startswith(f"Cannot load audio file '{bad}': not a readable audio file: it is text (")
    assert e.value.path == bad


def test_single_sample_clip_padded_in_a_batch(tmp_path):
    for split in ('train', 'valid'):
        (tmp_path / split / 'a').mkdir(parents=True)
        pcm16(tmp_path / split / 'a' / 'tone.wav', seconds=0.5)
        _one_sample(tmp_path / split / 'a')
    dls = AudioDataLoaders.from_folder(tmp_path, duration=1.0, batch_tfms=[], bs=2, num_workers=0)
    padded_tone = np.concatenate([q16(0.5) / np.float32(32768), np.zeros(SR // 2, np.float32)])
    for dl in (dls.train, dls.valid):
        x = dl.one_batch()[0]
        assert x.shape == (2, 1, SR)
        one = int(x[1, 0, 0] == 0.25)                        # the tone starts at 0, the single sample is 0.25
        assert float(x[one, 0, 0]) == 0.25 and not x[one, 0, 1:].any()             # the sample, then zeros
        np.testing.assert_array_equal(x[1 - one, 0].numpy(), padded_tone)


# --------------------------------------------------------------------------- an hour-long file
HOUR_SR, MARK = 8000, 1800


@pytest.fixture(scope='module')
def hour_file(tmp_path_factory):
    "One hour at 8 kHz, 16-bit: silence, with a 440 Hz tone for the second starting at 30 min."
    path = tmp_path_factory.mktemp('hour') / 'hour.wav'
    minute = np.zeros(60 * HOUR_SR, np.int16)
    with sf.SoundFile(str(path), 'w', HOUR_SR, 1, 'PCM_16') as f:
        for m in range(60):
            if m == MARK // 60:
                block = minute.copy()
                block[:HOUR_SR] = q16(1.0, sr=HOUR_SR)
                f.write(block)
            else: f.write(minute)
    return path


@pytest.fixture
def reads(monkeypatch):
    "What soundfile is asked to do, in order: ('seek', to frame) and ('read', frames); not `tell` (a relative seek)."
    calls, read, seek = [], sf.SoundFile.read, sf.SoundFile.seek
    monkeypatch.setattr(sf.SoundFile, 'read', lambda self, frames=-1, **k: calls.append(('read', frames)) or
                        read(self, frames, **k))
    monkeypatch.setattr(sf.SoundFile, 'seek', lambda self, frames, whence=sf.SEEK_SET: (
        whence == sf.SEEK_SET and calls.append(('seek', frames))) or seek(self, frames, whence))
    return calls


def test_hour_long_file_offset_reads_exactly_one_second(hour_file, reads):
    assert sf.info(str(hour_file)).frames == 3600 * HOUR_SR
    x = load_audio(hour_file, offset=MARK, duration=1.0)
    assert x.sr == HOUR_SR and x.shape == (1, HOUR_SR)
    np.testing.assert_array_equal(x[0].numpy(), q16(1.0, sr=HOUR_SR) / np.float32(32768))
    assert reads[:2] == [('seek', MARK * HOUR_SR), ('read', HOUR_SR)]
    assert [c for c in reads if c[0] == 'read'] == [('read', HOUR_SR)]


def test_hour_long_file_training_item_decodes_only_its_crop(hour_file, reads, monkeypatch):
    "A training item's random crop (here drawn to straddle the tone's start) is the only part decoded."
    asked, start = [], MARK * HOUR_SR - HOUR_SR // 2
    monkeypatch.setattr(random, 'randint', lambda a, b: asked.append((a, b)) or start)
    x = AudioLoader(sr=HOUR_SR, train_slice=1.0)(str(hour_file), split_idx=0)
    assert asked == [(0, 3600 * HOUR_SR - HOUR_SR)]
    assert [c for c in reads if c[0] == 'read'] == [('read', HOUR_SR)] and reads[0] == ('seek', start)
    want = np.concatenate([np.zeros(HOUR_SR // 2), q16(0.5, sr=HOUR_SR) / 32768]).astype(np.float32)
    assert x.shape == (1, HOUR_SR) and x.sr == HOUR_SR
    np.testing.assert_array_equal(x[0].numpy(), want)
