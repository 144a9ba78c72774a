"""The static web page (export format 'web'): index.html + model.onnx run in headless Chromium with onnxruntime-web
at the pinned version, installed from the npm registry (`npm ci --prefix tests/web`) and answered for the CDN's
address from tests/web/node_modules, so nothing leaves the machine. The page's probabilities equal onnxruntime's in
Python on the same samples; a stereo 44.1 kHz file chosen through the page gets the label Python gives it."""
import contextlib
import json
import re
import time

import numpy as np
import pytest
import torch

from browser import WEB, browser_page, missing, serve_folder
from training_setups import tone, write
from fastai_audio import ORT_WEB_URL, ORT_WEB_VERSION, export_waveform_model, load_audio, save_waveform_model, write_web_page
from fastai_audio.serving.export import FORMATS

ORT_DIST = WEB / 'node_modules' / 'onnxruntime-web' / 'dist'
CDN_DIST = ORT_WEB_URL.rsplit('/', 1)[0] + '/'
TYPES = {'.js': 'text/javascript', '.mjs': 'text/javascript', '.wasm': 'application/wasm', '.map': 'application/json'}
#: one xdist worker for the browser tests (with --dist loadgroup), and for the whole module, so that the trained
#: classifier and its page (module fixtures) are built once
pytestmark = pytest.mark.xdist_group('browser')


@pytest.fixture(scope='module')
def tones(tmp_path_factory):
    """Low (300 Hz) versus high (3 kHz) tones at 16 kHz, as conftest's `tone_learner` but with a network ONNX
    exports (average pooling to four frequency bands; its adaptive max pool has no ONNX form): trained in ~5 s."""
    import pandas as pd
    from fastai_audio import AudioDataLoaders, audio_learner, set_seed
    root, rows = tmp_path_factory.mktemp('tones'), []
    for split, n in (('train', 6), ('valid', 2)):
        for i in range(n):
            for lab, f in (('low', 300.0), ('high', 3000.0)):
                write(root / f'{split}_{lab}_{i}.wav', tone(f * (1 + 0.05 * i), 16000, 0.5), 16000)
                rows.append((f'{split}_{lab}_{i}.wav', lab, split == 'valid'))
    dls = AudioDataLoaders.from_df(pd.DataFrame(rows, columns=['f', 'y', 'v']), root, valid_col='v', duration=0.5,
                                   bs=4, num_workers=0)
    set_seed(0, reproducible=True)
    net = torch.nn.Sequential(torch.nn.Conv2d(1, 8, 3), torch.nn.ReLU(), torch.nn.AdaptiveAvgPool2d((4, 1)),
                              torch.nn.Flatten(), torch.nn.Linear(8 * 4, 2))
    learn = audio_learner(dls, net)
    with learn.no_bar(), learn.no_logging(): learn.fit_one_cycle(10, 3e-2)
    return learn


@pytest.fixture(scope='module')
def page_folder(tones, tmp_path_factory):
    "The tone classifier exported as a web page."
    return export_waveform_model(tones, tmp_path_factory.mktemp('web') / 'tones', formats=('web',))


@pytest.fixture(scope='module')
def session(page_folder):
    ort = pytest.importorskip('onnxruntime')
    return ort.InferenceSession(str(page_folder / 'model.onnx'))


def _answer_from_npm(route):
    "Answer a request for the CDN's onnxruntime-web dist/ from the npm install (404 for a file it lacks)."
    name = route.request.url[len(CDN_DIST):].split('?')[0].split('#')[0]
    f = ORT_DIST / name
    if '/' in name or not f.is_file():
        route.fulfill(status=404, body=f'{name} is not in {ORT_DIST}')
        return
    route.fulfill(status=200, body=f.read_bytes(), headers={'Content-Type': TYPES.get(f.suffix, 'application/octet-stream'),
                                                         'Access-Control-Allow-Origin': '*'})


@pytest.fixture(scope='module')
def chromium():
    "One headless Chromium for the module (Playwright's sync API drives one at a time): a page of it."
    if not (ORT_DIST / 'ort.wasm.min.js').is_file():
        missing(f'onnxruntime-web is not installed in {WEB} (npm ci --prefix tests/web)')
    with browser_page() as page: yield page


@contextlib.contextmanager
def _opened(page, folder):
    """`page` showing the page of `folder`, served on 127.0.0.1, with its model ready (loading onnxruntime-web's
    15 MB wasm through Playwright takes ~3 s); yields (page, errors), its load time in `page.load_seconds`."""
    with serve_folder(folder) as url:
        errors = []
        page.on('pageerror', lambda e: errors.append(str(e)))
        # nothing leaves the machine: the local server, and the CDN's onnxruntime-web answered from node_modules
        page.route('**/*', lambda r: r.continue_() if r.request.url.startswith(url + '/') else r.abort())
        page.route(CDN_DIST + '**', _answer_from_npm)
        t0 = time.perf_counter()
        page.goto(url + '/index.html')
        page.evaluate('() => window.fastaiAudio.ready.then(() => true)')
        page.load_seconds = time.perf_counter() - t0
        yield page, errors


@pytest.fixture(scope='module')
def loaded(chromium, page_folder):
    "The tone classifier's page, shared by the module's browser tests; (page, errors)."
    with _opened(chromium, page_folder) as opened: yield opened


def test_the_pinned_version_is_the_installed_one():
    "web.py's ORT_WEB_VERSION, tests/web/package.json and its lock name one version of onnxruntime-web."
    deps = json.loads((WEB / 'package.json').read_text())['dependencies']
    assert deps == {'onnxruntime-web': ORT_WEB_VERSION}
    lock = json.loads((WEB / 'package-lock.json').read_text())
    assert lock['packages']['node_modules/onnxruntime-web']['version'] == ORT_WEB_VERSION
    assert ORT_WEB_URL == f'https://cdn.jsdelivr.net/npm/onnxruntime-web@{ORT_WEB_VERSION}/dist/ort.wasm.min.js'


def test_the_web_format_writes_the_page_beside_its_model(page_folder):
    assert 'web' in FORMATS
    assert sorted(p.name for p in page_folder.iterdir()) == ['README.md', 'config.json', 'index.html', 'model.onnx']
    page = (page_folder / 'index.html').read_text()
    assert f'<script src="{ORT_WEB_URL}"></script>' in page           # the pinned script, and the page says so
    assert 'python -m http.server' in page and ORT_WEB_VERSION in page
    cfg = json.loads(re.search(r'<script type="application/json" id="model-config">(.*?)</script>', page, re.S)[1])
    served = json.loads((page_folder / 'config.json').read_text())
    assert cfg['classes'] == served['classes'] and cfg['sampleRate'] == served['sample_rate'] == 16000
    assert cfg['multiLabel'] is False and cfg['channels'] == 1 and cfg['title'] == 'tones'


def test_the_page_gives_onnxruntimes_probabilities(loaded, session):
    rng = np.random.default_rng(0)
    clips = [tone(300.0, 16000, 1.3), tone(3000.0, 16000, 0.4),                      # longer and shorter than a window
             (0.3 * rng.standard_normal(16000 * 2)).astype(np.float32),
             np.concatenate([np.zeros(4000, np.float32), tone(450.0, 16000, 0.7, amp=1e-3)])]   # silence, near-silence
    page, errors = loaded
    got = [page.evaluate('async (xs) => await window.fastaiAudio.classify(new Float32Array(xs))', y.tolist())
           for y in clips]
    assert not errors, errors
    for y, p in zip(clips, got):
        want = session.run(None, {'waveform': y})[0]
        assert np.abs(np.asarray(p) - want).max() < 1e-4, (p, want)


def test_a_stereo_file_at_another_rate_gets_pythons_label(loaded, page_folder, session, tmp_path):
    y = tone(310.0, 44100, 1.5)
    path = write(tmp_path / 'low_stereo_44k.wav', np.stack([0.8 * y, 0.3 * y], 1), 44100)
    wave = load_audio(path, sr=16000)
    classes = json.loads((page_folder / 'config.json').read_text())['classes']
    want = session.run(None, {'waveform': wave.numpy()[0]})[0]
    assert classes[int(want.argmax())] == 'low' and want.max() > 0.9                 # an unambiguous clip
    page, errors = loaded
    decoded = page.evaluate('async (bs) => Array.from((await window.fastaiAudio.decode(new Blob([new Uint8Array(bs)])))[0])',
                            list(path.read_bytes()))
    assert len(decoded) == wave.shape[-1]                        # downmixed (L + R) / 2 and resampled, as soxr does
    assert np.abs(np.asarray(decoded) - wave.numpy()[0]).max() < 1e-3
    t0 = time.perf_counter()
    page.set_input_files('#file', str(path))
    page.wait_for_selector('#status[data-state="done"], #status[data-state="error"]', timeout=30_000)
    seconds = time.perf_counter() - t0                          # file chosen -> labels shown
    status, label = page.text_content('#status'), page.text_content('#top-label')
    shown = page.eval_on_selector_all('#labels li', 'els => els.map(e => [e.dataset.label, '
                                      'parseFloat(e.querySelector(".probability").textContent)])')
    assert not errors, errors
    assert label == classes[int(want.argmax())], status
    assert [c for c, _ in shown] == [classes[i] for i in np.argsort(-want)]
    assert np.abs(np.array([p for _, p in shown]) - np.sort(want)[::-1]).max() < 0.02    # another resampler
    assert seconds < 20 and page.load_seconds < 60, (seconds, page.load_seconds)


def test_a_detector_or_an_unknown_format_is_refused_by_name(tmp_path):
    net = torch.nn.Identity()
    sed = {'format_version': 3, 'kind': 'sed', 'classes': ['a'], 'sample_rate': 16000}
    with pytest.raises(ValueError, match=r"format 'web'.*sound event detector \(kind 'sed'\)"):
        save_waveform_model(net, tmp_path / 'sed', sed, formats=('onnx', 'web'))
    assert not (tmp_path / 'sed').exists()                                           # refused before writing
    with pytest.raises(ValueError, match=r"kind 'sed'"): write_web_page(tmp_path / 'sed', sed)
    with pytest.raises(ValueError, match=r"unknown export format 'html'.*web"):
        save_waveform_model(net, tmp_path / 'x', sed, formats=('html',))


def test_the_page_embeds_names_safely(tmp_path):
    "A class name or title with '</script>' or '<!--' stays text: the config parses back to the same names."
    classes = ['</script><script>alert(1)</script>', '<!-- a & b', 'plain \u2028 line']
    page = write_web_page(tmp_path, {'kind': 'classifier', 'classes': classes, 'sample_rate': 8000},
                          title='</title><b>x</b>').read_text()
    assert '<script>alert' not in page and '<b>x</b>' not in page and '<!-- a' not in page
    cfg = json.loads(re.search(r'id="model-config">(.*?)</script>', page, re.S)[1])
    assert cfg['classes'] == classes and cfg['title'] == '</title><b>x</b>' and cfg['sampleRate'] == 8000
    emb = write_web_page(tmp_path / 'emb', {'kind': 'embedding', 'classes': ['a', 'b'], 'sample_rate': 16000,
                                            'multi_label': True}).read_text()    # an embedding classifier's config
    cfg = json.loads(re.search(r'id="model-config">(.*?)</script>', emb, re.S)[1])
    assert cfg['multiLabel'] is True and cfg['channels'] == 1 and cfg['kind'] == 'embedding' and cfg['title'] == 'emb'


def test_onnx_and_web_write_model_onnx_once(tones, tmp_path, monkeypatch):
    calls = []
    export = torch.onnx.export
    monkeypatch.setattr(torch.onnx, 'export', lambda *a, **k: calls.append(1) or export(*a, **k))
    path = export_waveform_model(tones, tmp_path / 'both', formats=('onnx', 'web'))
    assert len(calls) == 1 and (path / 'index.html').is_file() and (path / 'model.onnx').is_file()


def _shown(page, trigger) -> tuple[str, str]:
    "(status, top label) after `trigger()` starts a classification on the page and it ends."
    page.evaluate("document.getElementById('status').dataset.state = 'waiting'")
    trigger()
    page.wait_for_selector('#status[data-state="done"], #status[data-state="error"]', timeout=30_000)
    return page.text_content('#status'), page.text_content('#top-label')


def test_a_dropped_file_and_a_recording_are_classified(loaded, tmp_path):
    "Drag-and-drop and the Record button reach the model (a fake microphone: an oscillator's MediaStream)."
    page, errors = loaded
    path = write(tmp_path / 'high.wav', tone(3000.0, 22050, 1.0), 22050)
    drop = ("async (bs) => { const dt = new DataTransfer(); "
            "dt.items.add(new File([new Uint8Array(bs)], 'high.wav', {type: 'audio/wav'})); "
            "document.getElementById('drop').dispatchEvent(new DragEvent('drop', {dataTransfer: dt, bubbles: true, cancelable: true})); }")
    status, label = _shown(page, lambda: page.evaluate(drop, list(path.read_bytes())))
    assert label == 'high' and 'high.wav' in status, status
    page.evaluate("""() => { navigator.mediaDevices.getUserMedia = async () => {
        const ctx = new AudioContext(), osc = ctx.createOscillator(), out = ctx.createMediaStreamDestination();
        osc.frequency.value = 300; osc.connect(out); osc.start(); await ctx.resume(); return out.stream; }; }""")
    page.click('#record')
    page.wait_for_selector('#status[data-state="recording"]', timeout=10_000)
    page.wait_for_timeout(1200)
    status, label = _shown(page, lambda: page.click('#record'))
    assert label == 'low' and 'recording' in status, status
    assert page.text_content('#record') == 'Record'
    assert not errors, errors


def test_a_stereo_model_gets_both_channels(chromium, tmp_path):
    """A model of two channels is given (2, samples): the page's classify on [left, right] equals onnxruntime's, and
    decode keeps a stereo file's channels (an untrained network: this is about the plumbing)."""
    from fastai_audio import AudioModelSpec, FrontEnd
    from fastai_audio.serving.classifier import waveform_classifier
    ort = pytest.importorskip('onnxruntime')
    spec = AudioModelSpec(front_end=FrontEnd(sample_rate=16000, n_fft=512, hop_length=256, n_mels=32, channels=2,
                                             normalize=None), classes=('left', 'right'), window=0.5)
    torch.manual_seed(0)
    net = torch.nn.Sequential(torch.nn.Conv2d(2, 4, 3), torch.nn.AdaptiveAvgPool2d(1), torch.nn.Flatten(),
                              torch.nn.Linear(4, 2))
    folder = save_waveform_model(waveform_classifier(spec, net).eval(), tmp_path / 'pan', spec.to_dict(),
                                 formats=('web',))
    session = ort.InferenceSession(str(folder / 'model.onnx'))
    y = tone(500.0, 16000, 1.2)
    wave = np.stack([0.2 * y, 0.9 * y + 0.05 * tone(3000.0, 16000, 1.2)])
    path = write(tmp_path / 'stereo.wav', wave.T, 16000)
    with _opened(chromium.context.browser.new_page(), folder) as (page, errors):
        assert page.evaluate('window.fastaiAudio.config.channels') == 2
        got = page.evaluate('async (c) => await window.fastaiAudio.classify(c.map((x) => new Float32Array(x)))',
                            wave.tolist())
        decoded = page.evaluate('async (bs) => (await window.fastaiAudio.decode(new Blob([new Uint8Array(bs)])))'
                                '.map((c) => Array.from(c))', list(path.read_bytes()))
        page.close()
    assert not errors, errors
    assert np.abs(np.asarray(got) - session.run(None, {'waveform': wave})[0]).max() < 1e-4
    want = load_audio(path, sr=16000, mono=False).numpy()
    assert np.asarray(decoded).shape == want.shape and np.abs(np.asarray(decoded) - want).max() < 1e-4


def test_a_page_opened_from_file_says_to_serve_the_folder(chromium, page_folder):
    "Browsers do not fetch model.onnx for a file:// page: the page says so and how to serve it."
    page = chromium.context.browser.new_page()
    page.route(CDN_DIST + '**', _answer_from_npm)
    page.goto((page_folder / 'index.html').as_uri())
    page.wait_for_selector('#status[data-state="error"]', timeout=30_000)
    status = page.text_content('#status')
    page.close()
    assert 'model.onnx' in status and 'python -m http.server' in status, status
