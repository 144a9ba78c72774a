import subprocess
import sys

import numpy as np
import pytest
import soundfile as sf
import torch

from conftest import tone, write
from fastai_audio.core import AudioLoadError, AudioTensor, load_audio
from fastai_audio.runtime.waveform import resample


@pytest.mark.parametrize('ext,subtype,tol', [('wav', 'PCM_16', 2 ** -15), ('wav', 'PCM_24', 2 ** -23),
                                             ('wav', 'PCM_32', 2 ** -30), ('wav', 'FLOAT', 1e-7),
                                             ('flac', 'PCM_16', 2 ** -15), ('flac', 'PCM_24', 2 ** -23),
                                             ('wav', 'PCM_U8', 2 ** -7)])
def test_load_formats_scale_to_float(tmp_path, ext, subtype, tol):
    y = tone(440, 16000, 0.5)
    x = load_audio(write(tmp_path / f'a.{ext}', y, 16000, subtype), sr=16000)
    assert isinstance(x, AudioTensor) and x.dtype == torch.float32 and x.shape == (1, len(y))
    assert x.sr == 16000 and x.duration == pytest.approx(0.5)
    np.testing.assert_allclose(x[0].numpy(), y, atol=tol * 1.01)


def test_load_ogg_vorbis(tmp_path):
    y = tone(440, 16000, 0.5)
    x = load_audio(write(tmp_path / 'a.ogg', y, 16000, 'VORBIS'))
    assert x.sr == 16000 and abs(x.shape[-1] - len(y)) < 2048
    spec = np.abs(np.fft.rfft(x[0].numpy()))
    assert np.fft.rfftfreq(x.shape[-1], 1 / 16000)[spec.argmax()] == pytest.approx(440, abs=4)


def test_resample_only_when_rates_differ(tmp_path):
    y = tone(1000, 44100, 1.0)
    x = load_audio(write(tmp_path / 'a.wav', y, 44100, 'FLOAT'), sr=16000)
    assert x.sr == 16000 and x.shape[-1] == 16000
    spec = np.abs(np.fft.rfft(x[0].numpy()))
    assert np.fft.rfftfreq(16000, 1 / 16000)[spec.argmax()] == pytest.approx(1000, abs=1)
    assert np.abs(x[0, 1000:-1000]).max() == pytest.approx(0.5, abs=0.01)
    a = np.zeros((1, 100), np.float32)
    assert resample(a, 16000, 16000) is a
    same = load_audio(write(tmp_path / 'b.wav', tone(sr=16000), 16000, 'FLOAT'), sr=16000)
    np.testing.assert_array_equal(same[0].numpy(), tone(sr=16000))


def test_keep_file_rate_when_sr_none(tmp_path):
    assert load_audio(write(tmp_path / 'a.wav', tone(sr=22050), 22050), sr=None).sr == 22050


def test_downmix_or_keep_channels(tmp_path):
    left, right = tone(440), tone(880, amp=0.25)
    f = write(tmp_path / 'st.wav', np.stack([left, right], 1), 16000, 'FLOAT')
    mono, both = load_audio(f), load_audio(f, mono=False)
    assert mono.shape == (1, 16000) and both.shape == (2, 16000) and both.nchannels == 2
    np.testing.assert_allclose(mono[0].numpy(), (left + right) / 2, atol=1e-7)
    np.testing.assert_allclose(both[1].numpy(), right, atol=1e-7)


def test_silent_file_is_fine(tmp_path):
    x = load_audio(write(tmp_path / 'silence.wav', np.zeros(800, np.float32), 16000))
    assert x.shape == (1, 800) and float(x.abs().max()) == 0.0


def _expect_error(path, *words):
    with pytest.raises(AudioLoadError) as e:
        load_audio(path)
    msg = str(e.value)
    assert str(path) in msg, msg
    for w in words: assert w in msg, msg
    return msg


def test_errors_name_file_and_cause(tmp_path):
    _expect_error(tmp_path / 'missing.wav', 'no such file')
    (tmp_path / 'empty.wav').write_bytes(b'')
    _expect_error(tmp_path / 'empty.wav', 'empty')
    (tmp_path / 'notes.wav').write_text('this is not audio, just some text\n' * 20)
    _expect_error(tmp_path / 'notes.wav', 'not a readable audio file')
    (tmp_path / 'pic.wav').write_bytes(b'\x89PNG\r\n\x1a\n' + bytes(200))
    _expect_error(tmp_path / 'pic.wav', 'not a readable audio file')
    good = write(tmp_path / 'good.wav', tone(), 16000, 'PCM_16')
    data = good.read_bytes()
    (tmp_path / 'cut.wav').write_bytes(data[:len(data) // 2])
    _expect_error(tmp_path / 'cut.wav', 'truncated', 'declares')
    (tmp_path / 'header.wav').write_bytes(data[:44])
    _expect_error(tmp_path / 'header.wav', 'truncated')
    y = tone()
    y[100] = np.nan
    y[200] = np.inf
    _expect_error(write(tmp_path / 'nan.wav', y, 16000, 'FLOAT'), '2 NaN or infinite')
    (tmp_path / 'dir.wav').mkdir()
    _expect_error(tmp_path / 'dir.wav', 'directory')


def test_no_samples(tmp_path):
    _expect_error(write(tmp_path / 'zero.wav', np.zeros(0, np.float32), 16000), 'no samples')


def test_audiotensor_create_and_show(tmp_path):
    x = AudioTensor.create(tone(), sr=16000)
    assert x.shape == (1, 16000) and x.sr == 16000 and x.duration == 1.0
    with pytest.raises(ValueError, match='sr'):
        AudioTensor.create(tone())
    ax = x.show(player=False)
    assert ax.get_xlabel() == 'time (s)' and ax.get_xlim()[1] == pytest.approx(1.0, abs=1e-3)


def test_sample_rate_survives_ops_and_pickle():
    import pickle
    x = AudioTensor(torch.randn(2, 1, 100), sr=8000)
    for y in (x * 2, x[0], torch.stack([x[0], x[1]]), x.to('cpu'), pickle.loads(pickle.dumps(x))):
        assert isinstance(y, AudioTensor) and y.sr == 8000


def test_package_import_never_imports_torchaudio():
    code = 'import sys, fastai_audio; from fastai_audio import *; print("torchaudio" in sys.modules)'
    out = subprocess.run([sys.executable, '-c', code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == 'False'


@pytest.mark.skipif('MP3' not in sf.available_formats(), reason='this libsndfile has no MP3 support')
def test_load_mp3(tmp_path):
    y = tone(440, 16000, 1.0)
    x = load_audio(write(tmp_path / 'a.mp3', y, 16000, 'MPEG_LAYER_III', format='MP3'), sr=16000)
    assert x.sr == 16000 and abs(x.shape[-1] - len(y)) < 2000
    spec = np.abs(np.fft.rfft(x[0].numpy()))
    assert np.fft.rfftfreq(x.shape[-1], 1 / 16000)[spec.argmax()] == pytest.approx(440, abs=3)


def test_fallback_decoder_used_when_soundfile_fails(tmp_path, monkeypatch):
    "A format soundfile cannot read goes through librosa's decoder; when both fail the error names both causes."
    import fastai_audio.core as core

    class NoSoundfile:
        LibsndfileError = sf.LibsndfileError
        @staticmethod
        def SoundFile(*a, **k): raise RuntimeError('Format not recognised (simulated)')

    f = write(tmp_path / 'a.flac', tone(), 16000, 'PCM_16')
    monkeypatch.setattr(core, 'sf', NoSoundfile)
    x = load_audio(f)
    assert x.sr == 16000 and x.shape == (1, 16000)
    (tmp_path / 'junk.xyz').write_bytes(b'junk' * 100)
    with pytest.raises(AudioLoadError, match=r"junk\.xyz.*soundfile: Format not recognised \(simulated\).*fallback"):
        load_audio(tmp_path / 'junk.xyz')


@pytest.mark.parametrize('ext', ['wav', 'flac'])
def test_16_bit_fast_path_gives_libsndfiles_floats_exactly(tmp_path, ext):
    rng = np.random.default_rng(0)
    y = np.clip(rng.standard_normal((2, 4000)) * 0.3, -1, 1).T.astype(np.float32)
    f = write(tmp_path / f'two.{ext}', y, 16000, 'PCM_16')
    x = load_audio(f, sr=None, mono=False)
    want = sf.read(str(f), dtype='float32', always_2d=True)[0].T
    assert x.dtype == torch.float32 and np.array_equal(x.numpy(), want)
    assert float(x.abs().max()) <= 1.0
