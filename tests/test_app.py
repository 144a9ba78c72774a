"""The demo app on an exported folder: what it computes (`describe_recording`), its HTTP API through
`gradio_client`, and the page itself in headless Chromium, launched as a user launches it (`fastai-audio serve`
on the exported model of `fastai-audio demo`), answering with `load_exported`'s label."""
import os
import re
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf
import torch

from browser import browser_page
from fastai_audio.cli import main
from fastai_audio.runtime.events import GATE_DB
from fastai_audio.runtime.waveform import conform_waveform
from fastai_audio.serving import load_exported

pytest.importorskip('gradio')
os.environ.setdefault('GRADIO_ANALYTICS_ENABLED', 'False')
SCREENSHOT = os.environ.get('FASTAI_AUDIO_SCREENSHOT')      # where to keep the page's picture (the README's)
# README's: FASTAI_AUDIO_DEMO_MODEL=fastai_audio_demo/model FASTAI_AUDIO_SCREENSHOT=docs/serve_app.png pytest tests/test_app.py -k browser


@pytest.fixture(scope='module')
def demo_model(tmp_path_factory):
    """The exported model of `fastai-audio demo`, at a small size: 10 clips a class, one epoch; or the folder
    FASTAI_AUDIO_DEMO_MODEL names (the full demo's, for the README's screenshot)."""
    if os.environ.get('FASTAI_AUDIO_DEMO_MODEL'): return Path(os.environ['FASTAI_AUDIO_DEMO_MODEL'])
    out = tmp_path_factory.mktemp('demo')
    assert main(['demo', '--out', str(out), '--per-class', '10', '--epochs', '1', '--progress', 'lines']) == 0
    return out / 'model'


@pytest.fixture(scope='module')
def hidden_clip(tmp_path_factory):
    "A clip of one of the demo's classes that neither training nor validation holds (another seed)."
    from fastai_audio.datasets.synth import make_synthetic_dataset
    path = make_synthetic_dataset(tmp_path_factory.mktemp('hidden'), n_train=1, n_valid=1, seed=99)
    return sorted((path / 'valid').glob('chirp*.wav'))[0]


def _wav(folder, wave, sr=16000):
    "`wave` written as a float wav file for gradio_client to send."
    from gradio_client import handle_file
    sf.write(folder / 'clip.wav', wave, sr, subtype='FLOAT')
    return handle_file(str(folder / 'clip.wav'))


def _wav_handle(wave, sr=16000):
    import tempfile
    return _wav(Path(tempfile.mkdtemp()), wave, sr)


def _label(model, samples, rate, channels_last=False):
    wave = conform_waveform(samples, rate, sr=model.sample_rate, channels_last=channels_last)[0]
    with torch.no_grad(): probs = model(torch.from_numpy(wave))
    return model.classes[int(probs.argmax())], probs


def test_a_recording_is_converted_as_load_audio_converts_files(demo_model, hidden_clip, tmp_path):
    """int16 stereo at 44.1 kHz (how a browser records) gives the label and probabilities of the same sound as a
    mono float file at the model's rate; the features are the network's input."""
    from fastai_audio.app import describe_recording
    from fastai_audio.core import load_audio
    model = load_exported(demo_model)
    y = load_audio(hidden_clip, sr=16000)[0].numpy()
    import soxr
    y44 = soxr.resample(y, 16000, 44100)
    stereo = np.round(np.stack([y44, 0.5 * y44], 1) * 32767).astype(np.int16)
    r_file, r_mic = describe_recording(model, str(hidden_clip)), describe_recording(model, (44100, stereo))
    label, probs = _label(model, y, 16000)
    assert next(iter(r_file['labels'])) == label and len(r_file['labels']) == 5
    assert r_file['labels'][label] == pytest.approx(float(probs.max()), abs=1e-6)
    ref, _ = _label(model, stereo, 44100, channels_last=True)      # the one rule: same conversion, same answer
    assert next(iter(r_mic['labels'])) == ref
    assert r_mic['seconds'] == pytest.approx(1.0, abs=1e-3)
    assert r_file['features'].shape == (40, 63)                       # 40 mels, 1 s at hop 256
    with pytest.raises(ValueError, match='notes.txt: cannot be read as audio'):
        (tmp_path / 'notes.txt').write_text('not audio')
        describe_recording(model, str(tmp_path / 'notes.txt'))


def test_a_long_recording_gets_a_timeline_with_its_silence_gated(demo_model, hidden_clip):
    """A windowed classifier (the demo's network served in windows of 1 s every 0.5 s) on 3 s: the clip, 1 s of
    digital silence, the clip. The silent window is NaN; the demo's own model scores whole clips: no timeline."""
    from fastai_audio.app import describe_recording
    from fastai_audio.serving import WaveformClassifier
    whole = load_exported(demo_model)
    model = WaveformClassifier(whole.front_end, whole.net, 16000, window_length=16000, hop_length=8000).eval()
    model.classes = whole.classes
    y, sr = sf.read(hidden_clip, dtype='float32')
    long = np.concatenate([y, np.zeros(sr, np.float32), y])
    r = describe_recording(model, (sr, long))
    centres, probs = r['timeline']
    assert np.allclose(centres, [0.5, 1.0, 1.5, 2.0, 2.5])
    silent = np.isnan(probs).all(1)
    assert silent.tolist() == [False, False, True, False, False]       # the window [1, 2) s, -100 dB <= GATE_DB
    assert GATE_DB > -100
    assert np.allclose(probs[~silent].sum(1), 1, atol=1e-5)
    assert describe_recording(model, (sr, y))['timeline'] is None     # one window: no timeline
    assert describe_recording(whole, (sr, long))['timeline'] is None


def test_a_detector_shows_its_events_and_an_embedder_is_refused(tmp_path):
    """A detector's answer is its `events()` and frame probabilities; a model without labels cannot be served."""
    from fastai_audio.app import demo_app, describe_recording
    from fastai_audio.runtime.frontend import FrontEnd
    from fastai_audio.serving import FrameDetector
    from fastai_audio.backbones.sed import FrameClassifier
    fe = FrontEnd(sample_rate=16000, n_fft=512, hop_length=160, n_mels=32, mean=0.0, std=1.0)
    torch.manual_seed(0)
    body = torch.nn.Sequential(torch.nn.Conv2d(1, 8, 3, padding=1), torch.nn.ReLU())
    det = FrameDetector(fe, FrameClassifier(body, 2, hidden=16).eval(), ['bird', 'dog']).eval()
    wave = 0.3 * np.sin(2 * np.pi * 1000 * np.arange(32000) / 16000).astype(np.float32)
    r = describe_recording(det, (16000, wave))
    assert r['events'] == [(e.onset, e.offset, e.event_label) for e in det.events(torch.from_numpy(wave))]
    assert r['probs'].shape[1] == 2 and r['frame_seconds'] == pytest.approx(0.01)
    from gradio_client import Client
    from fastai_audio.app import serve_model
    app = serve_model(det, block=False)                # the detector's page: summary, event table, roll, features
    try: summary, table, roll, image = Client(app.local_url, verbose=False).predict(_wav(tmp_path, wave),
                                                                             api_name='/predict')
    finally: app.close()
    assert summary == f"{len(r['events'])} event(s) in 2.00 s" and table['headers'] == ['onset (s)', 'offset (s)', 'label']
    det.classes = []
    with pytest.raises(ValueError, match='has no labels'): demo_app(det)


def test_the_app_answers_over_http_as_load_exported(demo_model, hidden_clip):
    "serve_model in this process; gradio_client asks its 'predict' endpoint: the label and probabilities match."
    from gradio_client import Client, handle_file
    from fastai_audio.app import serve_model
    model = load_exported(demo_model)
    label, probs = _label(model, *sf.read(hidden_clip, dtype='float32'))
    app = serve_model(demo_model, block=False)
    try:
        summary, labels, _, image = Client(app.local_url, verbose=False).predict(handle_file(str(hidden_clip)),
                                                                                 api_name='/predict')
    finally: app.close()
    assert labels['label'] == label and summary.startswith(label)
    got = {c['label']: c['confidence'] for c in labels['confidences']}
    assert got[label] == pytest.approx(float(probs.max()), abs=1e-6)
    assert Path(image).suffix in ('.png', '.webp', '.jpeg', '.jpg')


@pytest.mark.xdist_group('browser')
def test_fastai_audio_serve_answers_in_a_browser_with_load_exporteds_label(demo_model, hidden_clip, tmp_path):
    """`fastai-audio serve` in its own process; headless Chromium opens the page, uploads the hidden clip, and the
    top label the page shows is `load_exported`'s."""
    model = load_exported(demo_model)
    label, _ = _label(model, *sf.read(hidden_clip, dtype='float32'))
    env = {**os.environ, 'GRADIO_ANALYTICS_ENABLED': 'False'}
    proc = subprocess.Popen([sys.executable, '-m', 'fastai_audio.cli', 'serve', str(demo_model)], env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    try:
        for line in proc.stdout:                   # the command prints its URL once the app answers
            m = re.match(r'serving .* at (http://\S+)', line)
            if m: break
        else: pytest.fail(f'fastai-audio serve ended without serving (exit {proc.wait()})')
        with browser_page() as page:
            page.goto(m.group(1), wait_until='networkidle')
            assert 'Any sample rate, mono or stereo' in page.content()
            page.locator('#recording input[type=file]').set_input_files(str(hidden_clip))
            page.wait_for_function("() => document.querySelector('#labels h2') !== null", timeout=120_000)
            assert page.locator('#labels h2').inner_text().strip() == label
            assert page.locator('#summary textarea').input_value().startswith(label)
            page.wait_for_function("() => document.querySelectorAll('.pending, .generating').length === 0")
            page.screenshot(path=SCREENSHOT or str(tmp_path / 'app.png'), full_page=True)
    finally:
        proc.terminate()
        proc.wait(timeout=30)


def test_learn_demo_serves_the_learner_as_its_export_would(tone_learner):
    """`learn.demo()` in a notebook: the app on the learner's served model (a network of its own, which no config
    can rebuild), answering a 3 kHz tone as the learner's `predict` does."""
    from gradio_client import Client
    from conftest import tone
    wave = tone(3000.0, 16000, 1.0)
    app = tone_learner.demo()
    try:
        summary, labels, _, _ = Client(app.local_url, verbose=False).predict(_wav_handle(wave), api_name='/predict')
    finally: app.close()
    assert labels['label'] == tone_learner.predict(wave, sr=16000)[0] == 'high'
    assert 'tones' in app.title
