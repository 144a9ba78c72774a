"""A static web page for an exported model: `index.html` beside model.onnx, which runs the waveform-in model in the
browser with onnxruntime-web, with no server code (the front end is in the ONNX graph already).

The page decodes a chosen, dropped or recorded file with WebAudio (`decodeAudioData` in an `OfflineAudioContext`
at the model's rate, which resamples it), downmixes it to the model's channels by rendering it through an
`OfflineAudioContext(channels, ceil(duration * rate), rate)`, runs model.onnx and shows the labels. It loads
onnxruntime-web from jsDelivr (`ORT_WEB_URL`, one pinned version) and must be served over HTTP (browsers do not
fetch model.onnx from file://):

    export_waveform_model(learn, 'tagger/', formats=('web',))   # config.json + model.onnx + index.html
    # cd tagger && python -m http.server    ->    http://localhost:8000/

For scripts and tests the page exposes `window.fastaiAudio = {ready, config, classify, classifyFile, decode}`:
`ready` a Promise of the loaded session, `classify(samples)` the probabilities (an Array) of a Float32Array at the
model's rate (mono; a list of per-channel arrays for a model of several channels), `classifyFile(file)` those of a
File or Blob, decoded as above, and `decode(file)` its samples (a list of Float32Array, one per channel).

Layer rule: torch-only serving layer; this module needs only the standard library.
"""
from __future__ import annotations

import html
import json
import re
from pathlib import Path

from .config import KINDS, config_kind

__all__ = ['write_web_page', 'ORT_WEB_VERSION', 'ORT_WEB_URL']
#: public-internal: used by other modules of the package, not part of `from fastai_audio import *`
__internal__ = ('check_web_config',)

#: The onnxruntime-web release the page loads (tests/web/package.json pins the same one for the tests).
ORT_WEB_VERSION = '1.31.1'
#: Where the page gets onnxruntime-web: its wasm build's script, whose folder also serves the .mjs / .wasm it loads.
ORT_WEB_URL = f'https://cdn.jsdelivr.net/npm/onnxruntime-web@{ORT_WEB_VERSION}/dist/ort.wasm.min.js'
#: The served kinds the page shows (class probabilities out); a detector's frame probabilities are not shown yet.
_WEB_KINDS = ('classifier', 'embedding')


def write_web_page(path, config: dict, *, title: str | None = None, top_k: int = 5) -> Path:
    """Write `index.html`, the page that runs `path / 'model.onnx'` in the browser, to folder `path`.

    The exporters call it for the format 'web' (`export_waveform_model(..., formats=('web',))`), after writing
    model.onnx.

    Parameters
    ----------
    path : str or Path
        The exported folder (created if needed); the page loads model.onnx from beside itself.
    config : dict
        The folder's config.json as a dict: its `classes`, `sample_rate`, `multi_label` and the front end's
        `channels` go into the page, as JSON.
    title : str or None
        The page's heading (default None: the folder's name).
    top_k : int
        How many labels the page lists, highest probability first (default 5). A multi-label model lists every
        class above 0.5, or these top k when none is.

    Returns
    -------
    Path
        The page, `path / 'index.html'`.

    Raises
    ------
    ValueError
        For a config of a kind the page cannot show (a sound event detector gives frame probabilities), naming the
        format and the kind, or one without classes or sample rate, or for `top_k` < 1.
    """
    kind = check_web_config(config)
    classes, rate = config['classes'], config['sample_rate']
    if top_k < 1: raise ValueError(f'write_web_page: top_k must be >= 1, got {top_k!r}')
    path = Path(path)
    path.mkdir(parents=True, exist_ok=True)
    title = path.resolve().name if title is None else str(title)
    page_config = {'title': title, 'classes': [str(c) for c in classes], 'sampleRate': int(rate),
                   'multiLabel': bool(config.get('multi_label', False)),
                   'channels': int((config.get('front_end') or {}).get('channels', 1)), 'topK': int(top_k),
                   'kind': kind}
    fill = {'ORT_URL': html.escape(ORT_WEB_URL), 'ORT_VERSION': ORT_WEB_VERSION, 'TITLE': html.escape(title),
            'CONFIG': _script_json(page_config)}
    page = re.sub(r'__([A-Z_]+?)__', lambda m: fill[m.group(1)], _PAGE)     # one pass: no value is read as a slot
    out = path / 'index.html'
    out.write_text(page, encoding='utf-8')
    return out


def check_web_config(config: dict) -> str:
    """The kind of `config` when the page can show its model (class probabilities out), else a ValueError naming
    the format 'web' and the kind; the exporters call it before writing anything."""
    kind = config_kind(config)
    if kind not in _WEB_KINDS:
        raise ValueError(f"export format 'web' shows class probabilities; a {KINDS[kind]} (kind {kind!r}) gives "
                         f"frame probabilities, which the page does not show: export it with formats=('onnx',) and "
                         f"decode its events in Python (kinds the page shows: {', '.join(_WEB_KINDS)})")
    if not config.get('classes') or not config.get('sample_rate'):
        raise ValueError("export format 'web' needs a config with 'classes' and 'sample_rate'")
    return kind


def _script_json(obj) -> str:
    """`obj` as JSON that is safe inside a `<script type="application/json">` element: no '<', '>' or '&' (so no
    '</script>' or '<!--' can end or change it) and no U+2028 / U+2029, all written as \\u escapes."""
    s = json.dumps(obj, ensure_ascii=False)
    for ch in '<>&\u2028\u2029': s = s.replace(ch, f'\\u{ord(ch):04x}')
    return s


_PAGE = """<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>__TITLE__</title>
<style>
  body { font: 16px/1.4 system-ui, sans-serif; max-width: 44rem; margin: 2rem auto; padding: 0 1rem; color: #222; }
  #drop { border: 2px dashed #999; border-radius: 8px; padding: 1.5rem; text-align: center; margin: 1rem 0; }
  #drop.over { border-color: #2a7; background: #f3fbf6; }
  #top-label { font-size: 1.6rem; font-weight: 600; min-height: 2rem; }
  #labels { list-style: none; padding: 0; }
  #labels li { display: grid; grid-template-columns: 12rem 1fr 4rem; gap: .5rem; align-items: center; margin: .2rem 0; }
  #labels meter { width: 100%; }
  #status[data-state="error"] { color: #b00; }
  .note { color: #555; font-size: .9rem; }
</style>
<script src="__ORT_URL__"></script>
</head>
<body>
<h1>__TITLE__</h1>
<p>Choose, drop or record a sound: it is decoded and classified in this browser, nothing is uploaded.</p>
<p><input type="file" id="file" accept="audio/*,.wav,.flac,.ogg,.mp3,.m4a,.webm">
   <button type="button" id="record">Record</button></p>
<div id="drop">Drop an audio file here</div>
<p id="status" data-state="loading">Loading the model&hellip;</p>
<p id="top-label"></p>
<ul id="labels"></ul>
<p class="note">This page runs model.onnx with onnxruntime-web __ORT_VERSION__, loaded from
  <a href="__ORT_URL__">__ORT_URL__</a> (npm package <code>onnxruntime-web@__ORT_VERSION__</code>; to work offline,
  copy its <code>dist/</code> files beside this page and change the script's address). Serve this folder over HTTP,
  e.g. <code>python -m http.server</code> in it and open <code>http://localhost:8000/</code>: browsers do not load
  model.onnx from a <code>file://</code> page.</p>
<script type="application/json" id="model-config">__CONFIG__</script>
<script>
(function () {
  'use strict';
  const config = JSON.parse(document.getElementById('model-config').textContent);
  const $ = (id) => document.getElementById(id);

  function setStatus(text, state) { const s = $('status'); s.textContent = text; s.dataset.state = state; }

  if (typeof ort === 'undefined') {
    setStatus('onnxruntime-web did not load from ' + document.querySelector('script[src]').src, 'error');
    return;
  }
  ort.env.wasm.numThreads = 1;            // a plain server gives no cross-origin isolation, so no wasm threads
  const ready = ort.InferenceSession.create('model.onnx', {executionProviders: ['wasm']});

  // Samples at the model's rate -> probabilities: one Float32Array (mono), or one per channel.
  async function classify(samples) {
    const session = await ready;
    const chans = (samples instanceof Float32Array) ? [samples] : Array.from(samples, (c) => Float32Array.from(c));
    let input;
    if (config.channels === 1) {
      if (chans.length !== 1) throw new Error('this model takes one channel, got ' + chans.length);
      input = new ort.Tensor('float32', chans[0], [chans[0].length]);
    } else {
      if (chans.length !== config.channels) throw new Error('this model takes ' + config.channels + ' channels, got ' + chans.length);
      const n = chans[0].length, data = new Float32Array(n * chans.length);
      chans.forEach((c, i) => data.set(c, i * n));
      input = new ort.Tensor('float32', data, [chans.length, n]);
    }
    const out = await session.run({waveform: input});
    return Array.from(out.probabilities.data);
  }

  // A File or Blob -> its samples at the model's rate, in the model's channels (Float32Array each).
  async function decode(blob) {
    const sr = config.sampleRate;
    // decodeAudioData resamples to its context's rate (the model's), with the browser's own resampler
    const decoded = await new OfflineAudioContext(1, 1, sr).decodeAudioData(await blob.arrayBuffer());
    const ctx = new OfflineAudioContext(config.channels, Math.max(1, Math.ceil(decoded.duration * sr)), sr);
    const source = ctx.createBufferSource();
    source.buffer = decoded;
    source.connect(ctx.destination);        // the destination's channel count downmixes (stereo -> mono: (L + R) / 2)
    source.start();
    const rendered = await ctx.startRendering();
    return Array.from({length: config.channels}, (_, i) => rendered.getChannelData(i));
  }

  async function classifyFile(blob) {
    const chans = await decode(blob);
    return classify(config.channels === 1 ? chans[0] : chans);
  }

  function show(probs) {
    const order = probs.map((p, i) => i).sort((a, b) => probs[b] - probs[a]);
    let shown = order.slice(0, config.topK);
    if (config.multiLabel) {
      const present = order.filter((i) => probs[i] > 0.5);
      if (present.length) shown = present;
    }
    $('top-label').textContent = config.classes[order[0]];
    const list = $('labels');
    list.textContent = '';
    for (const i of shown) {
      const li = document.createElement('li');
      li.dataset.label = config.classes[i];
      const name = document.createElement('span'), bar = document.createElement('meter'), value = document.createElement('span');
      name.className = 'label'; name.textContent = config.classes[i];
      bar.min = 0; bar.max = 1; bar.value = probs[i];
      value.className = 'probability'; value.textContent = probs[i].toFixed(3);
      li.append(name, bar, value);
      list.append(li);
    }
  }

  async function run(blob, name) {
    setStatus('Classifying ' + name + '\\u2026', 'busy');
    try {
      const t0 = performance.now();
      show(await classifyFile(blob));
      setStatus(name + ': done in ' + Math.round(performance.now() - t0) + ' ms', 'done');
    } catch (e) {
      setStatus('Could not classify ' + name + ': ' + (e && e.message ? e.message : e), 'error');
    }
  }

  $('file').addEventListener('change', (e) => { const f = e.target.files[0]; if (f) run(f, f.name); });
  const drop = $('drop');
  drop.addEventListener('dragover', (e) => { e.preventDefault(); drop.classList.add('over'); });
  drop.addEventListener('dragleave', () => drop.classList.remove('over'));
  drop.addEventListener('drop', (e) => {
    e.preventDefault(); drop.classList.remove('over');
    const f = e.dataTransfer.files[0]; if (f) run(f, f.name);
  });

  let recorder = null;
  $('record').addEventListener('click', async () => {
    const button = $('record');
    if (recorder) { recorder.stop(); return; }
    if (!navigator.mediaDevices || !window.MediaRecorder) { setStatus('This browser cannot record.', 'error'); return; }
    try {
      const stream = await navigator.mediaDevices.getUserMedia({audio: true});
      const chunks = [];
      recorder = new MediaRecorder(stream);
      recorder.ondataavailable = (e) => { if (e.data.size) chunks.push(e.data); };
      recorder.onstop = () => {
        stream.getTracks().forEach((t) => t.stop());
        const type = recorder.mimeType;
        recorder = null; button.textContent = 'Record';
        run(new Blob(chunks, {type: type}), 'the recording');
      };
      recorder.start();
      button.textContent = 'Stop';
      setStatus('Recording\\u2026 press Stop when done.', 'recording');
    } catch (e) {
      recorder = null;
      setStatus('Could not record: ' + (e && e.message ? e.message : e), 'error');
    }
  });

  window.fastaiAudio = {ready: ready, config: config, classify: classify, classifyFile: classifyFile, decode: decode};
  ready.then(() => setStatus('Ready: choose, drop or record a sound.', 'ready'),
             (e) => setStatus('Could not load model.onnx: ' + (e && e.message ? e.message : e) +
                              (location.protocol === 'file:' ? ' (browsers do not fetch it for a file:// page: run ' +
                               '"python -m http.server" in this folder and open http://localhost:8000/)' : ''), 'error'));
})();
</script>
</body>
</html>
"""
