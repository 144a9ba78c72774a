"""A Gradio app on an exported model: upload or record a sound, see what the model says.

`demo_app(folder)` builds it (a `gradio.Blocks`), `serve_model(folder)` builds and launches it. Title, classes
and front end come from the folder's config.json. What a recording goes through is one rule,
`runtime.conform_waveform` (integer samples by full scale, the mean of the channels, soxr to the model's rate),
the one `load_audio` applies to files. Then, by the model's kind:

- a clip classifier (or embedding classifier): the top-k labels with probabilities, the spectrogram the model
  saw, and for a recording longer than one window the window timeline (windows at or below `GATE_DB` drawn as
  silence);
- a sound event detector: the event table and the event roll over the frame probabilities;
- a model without labels: a ValueError when the app is built, saying so.

`describe_recording(model, recording)` is what the app computes, without Gradio.
"""
from __future__ import annotations

from pathlib import Path

import numpy as np
import torch

from ..runtime.events import GATE_DB
from ..runtime.functional import level_db, window_starts
from ..runtime.waveform import conform_waveform
from ..serving.config import KINDS, config_kind
from ..serving.load import load_exported

__all__ = ['demo_app', 'serve_model', 'describe_recording', 'recording_waveform']

#: what the page says of the conversion, filled with the model's rate
CONVERSION = ('Any sample rate, mono or stereo, 16-bit or float: downmixed to mono (the mean of the channels) and '
              'resampled to {sr} Hz with soxr, as `load_audio` does for files.')


def _model(model_or_folder):
    "(model, a title) of an exported folder, a 'hf://' repository, or a loaded served model."
    if isinstance(model_or_folder, torch.nn.Module):
        return model_or_folder, getattr(model_or_folder, 'title', None) or type(model_or_folder).__name__
    model = load_exported(model_or_folder)
    name = str(model_or_folder).rstrip('/')
    return model, name[len('hf://'):] if name.startswith('hf://') else name        # as the user named it


def _classes(model) -> list[str]:
    classes = getattr(model, 'classes', None) or list(getattr(getattr(model, 'spec', None), 'classes', ()) or ())
    return [str(c) for c in classes]


def recording_waveform(recording, sr: int) -> torch.Tensor:
    """A recording as the model takes it: `(samples,)` float32 at `sr`.

    Parameters
    ----------
    recording : str, Path or tuple
        A file path (what Gradio's audio input gives with type 'filepath'), or `(rate, samples)` with samples
        `(samples,)` or `(samples, channels)`, integer or float (what it gives with type 'numpy').
    sr : int
        The model's rate in Hz.

    Returns
    -------
    torch.Tensor
        `(samples,)` float32, mono, at `sr`.

    Raises
    ------
    ValueError
        Naming the file and the cause, for a file that cannot be read or holds no samples.
    """
    if isinstance(recording, (str, Path)):
        import soundfile as sf
        try: samples, rate = sf.read(str(recording), dtype='float32', always_2d=True)
        except Exception as e:
            raise ValueError(f'{Path(recording).name}: cannot be read as audio ({type(e).__name__}: {e})') from None
        name = Path(recording).name
    else:
        rate, samples = recording
        name = 'the recording'
    samples = np.asarray(samples)
    if samples.size == 0: raise ValueError(f'{name} holds no samples')
    wave = conform_waveform(samples, int(rate), sr=sr, channels_last=samples.ndim == 2)
    return torch.from_numpy(wave[0])


def describe_recording(model, recording, *, top_k: int = 5) -> dict:
    """What the app shows for `recording`, computed without Gradio.

    Parameters
    ----------
    model : nn.Module
        A served model (`load_exported`): clip classifier, embedding classifier or detector.
    recording : str, Path or tuple
        As `recording_waveform` takes it.
    top_k : int
        Labels listed (default 5).

    Returns
    -------
    dict
        'seconds' (float); for a classifier 'labels' ({class: probability}, the `top_k` highest of `model(wave)`,
        the aggregated probabilities) and 'timeline' (None, or (window centres in seconds `(n,)`, probabilities
        `(n, classes)` with NaN rows for windows at or below `GATE_DB`)); for a detector 'events' (list of
        (onset, offset, label)) and 'probs' (`(frames, classes)`) with 'frame_seconds' and 'start'; and
        'features' (`(rows, frames)`, the first channel of what the network saw, or None).
    """
    classes, sr = _classes(model), int(model.sample_rate)
    wave = recording_waveform(recording, sr)
    out = {'seconds': wave.shape[-1] / sr, 'features': _features(model, wave)}
    with torch.no_grad():
        if hasattr(model, 'events'):
            probs = model(wave)
            out['probs'] = probs.numpy()
            out['events'] = [(e.onset, e.offset, e.event_label) for e in model.events(wave, probs=probs)]
            out['frame_seconds'], out['start'] = float(model.frame_seconds), float(model.start)
            return out
        windowed = not getattr(model, 'whole', True) and wave.shape[-1] > model.window_length
        if windowed:                     # the windows once, for the timeline and for the clip's probabilities
            window_probs = model.window_probs(wave)
            probs, out['timeline'] = model.aggregate(window_probs), _timeline(model, wave, window_probs)
        else: probs, out['timeline'] = model(wave), None
        top = torch.argsort(probs, descending=True)[:top_k]
        out['labels'] = {classes[i]: float(probs[i]) for i in top.tolist()}
    return out


def _features(model, wave: torch.Tensor):
    "The first channel `(rows, frames)` of the network's input for the whole recording, or None (an embedder)."
    front = getattr(model, 'front_end', None)
    if front is None: return None
    with torch.no_grad():
        x = front(wave.reshape(1, 1, -1).expand(1, getattr(model, 'channels', 1), -1))
    return x[0, 0].numpy() if x.ndim == 4 else None


def _timeline(model, wave: torch.Tensor, window_probs: torch.Tensor):
    "(window centres in s, `window_probs` with silent windows NaN) of a windowed classifier's recording."
    windows = model.windows(wave)
    probs = window_probs.numpy().astype(float)
    probs[(level_db(windows).amax(-1) <= GATE_DB).numpy()] = np.nan
    starts = window_starts(wave.shape[-1], model.window_length, model.hop_length).numpy()
    return (starts + model.window_length / 2) / model.sample_rate, probs


def _image(features):
    """A `(rows, frames)` array as an RGB image, low rows at the bottom, rows and frames repeated to be large
    enough to read."""
    if features is None: return None
    from matplotlib import colormaps
    f = np.nan_to_num(features.astype(float))
    f = (f - f.min()) / max(float(f.max() - f.min()), 1e-12)
    rgb = (colormaps['magma'](f[::-1])[..., :3] * 255).astype(np.uint8)
    rgb = np.repeat(rgb, max(1, 200 // rgb.shape[0]), axis=0)
    return np.repeat(rgb, max(1, 640 // rgb.shape[1]), axis=1)


def _timeline_figure(timeline, classes, top: list[str]):
    import matplotlib.pyplot as plt
    centres, probs = timeline
    fig, ax = plt.subplots(figsize=(8, 2.6), layout='constrained')
    for c in top: ax.plot(centres, probs[:, classes.index(c)], marker='.', label=c)
    ax.set(xlabel='seconds (window centres)', ylabel='probability', ylim=(0, 1.02),
           title='windows over the recording (gaps: silent windows)')
    ax.legend(loc='upper right', fontsize=8)
    return fig


def _event_figure(result, classes):
    import matplotlib.pyplot as plt
    probs, step, start = result['probs'], result['frame_seconds'], result['start']
    fig, ax = plt.subplots(figsize=(8, 0.5 + 0.45 * len(classes)), layout='constrained')
    end = start + step * probs.shape[0]
    ax.imshow(probs.T, aspect='auto', origin='lower', cmap='Greys', vmin=0, vmax=1,
              extent=(start - step / 2, end - step / 2, -0.5, len(classes) - 0.5))
    for onset, offset, label in result['events']:
        ax.broken_barh([(onset, offset - onset)], (classes.index(label) - 0.3, 0.6), color='tab:orange', alpha=0.7)
    ax.set(yticks=range(len(classes)), yticklabels=classes, xlabel='seconds',
           title='events (orange) over the frame probabilities (grey)')
    return fig


def demo_app(model_or_folder, *, title: str | None = None, top_k: int = 5):
    """The Gradio app (not launched) for an exported model.

    Parameters
    ----------
    model_or_folder : str, Path or nn.Module
        An exported folder, 'hf://user/repo', or a served model (`load_exported`'s, `learn.served_model()`).
    title : str or None
        The page's title (default None: the folder as named, or the repository, and the model's kind).
    top_k : int
        Labels listed for a classifier (default 5).

    Returns
    -------
    gradio.Blocks
        Launch it with `.launch()`, as on a Hugging Face Space.

    Raises
    ------
    ValueError
        For a model without labels (an embedder), saying there is nothing to show.
    ImportError
        Without Gradio, saying how to install it (`pip install "fastai_audio[demo]"`).
    """
    try: import gradio as gr
    except ImportError:
        raise ImportError('the demo app needs Gradio: pip install "fastai_audio[demo]" (or pip install gradio)') from None
    model, name = _model(model_or_folder)
    classes = _classes(model)
    if not classes:
        raise ValueError(f'{name}: this model has no labels (an embedder gives vectors, not classes), so the demo app '
                         'has nothing to show; serve a classifier or a detector')
    cfg = getattr(model, 'config', None) or {}
    kind = config_kind(cfg) if cfg else ('sed' if hasattr(model, 'events') else 'classifier')
    front = getattr(getattr(model, 'spec', None), 'front_end', None)
    sr = int(model.sample_rate)
    title = title or f'{name}: {KINDS[kind]}'
    about = [f'# {title}', f"**Classes** ({len(classes)}): {', '.join(classes)}",
             f"**What it hears**: {front.describe() if front is not None else f'mono audio at {sr} Hz'}.",
             CONVERSION.format(sr=sr)]

    def run(recording):
        if recording is None: raise gr.Error('upload or record a sound first')
        try: r = describe_recording(model, recording, top_k=top_k)
        except ValueError as e: raise gr.Error(str(e)) from None
        image = _image(r['features'])
        if kind == 'sed':
            rows = [[round(a, 3), round(b, 3), lab] for a, b, lab in r['events']]
            summary = f"{len(rows)} event(s) in {r['seconds']:.2f} s"
            return summary, rows, _event_figure(r, classes), image
        top = next(iter(r['labels']))
        timeline = None
        if r['timeline'] is not None: timeline = _timeline_figure(r['timeline'], classes, list(r['labels'])[:3])
        summary = f"{top} ({r['labels'][top]:.1%}) over {r['seconds']:.2f} s"
        return summary, r['labels'], gr.Plot(value=timeline, visible=timeline is not None), image

    with gr.Blocks(title=title, analytics_enabled=False) as app:
        gr.Markdown('\n\n'.join(about))
        with gr.Row():
            with gr.Column():
                audio = gr.Audio(sources=['upload', 'microphone'], type='filepath', label='Recording',
                                 elem_id='recording')
                button = gr.Button('Detect events' if kind == 'sed' else 'Classify', variant='primary', elem_id='run')
            with gr.Column():
                summary = gr.Textbox(label='Top label' if kind != 'sed' else 'Summary', elem_id='summary',
                                     interactive=False)
                if kind == 'sed':
                    table = gr.Dataframe(headers=['onset (s)', 'offset (s)', 'label'], label='Events',
                                         elem_id='events', interactive=False)
                    plot = gr.Plot(label='Event roll', elem_id='event-roll')
                else:
                    table = gr.Label(num_top_classes=top_k, label='Labels', elem_id='labels')
                    plot = gr.Plot(label='Timeline (recordings longer than one window)', elem_id='timeline',
                                   visible=False)
        image = gr.Image(label='What the model saw (its input features, low frequencies at the bottom)',
                         elem_id='features', interactive=False)
        outputs = [summary, table, plot, image]
        button.click(run, inputs=audio, outputs=outputs, api_name='predict')
        audio.change(lambda r: run(r) if r is not None else (None,) * 4, inputs=audio, outputs=outputs,
                     api_name=False)
    return app


def serve_model(folder, *, host: str = '127.0.0.1', port: int | None = None, share: bool = False, top_k: int = 5,
                block: bool = True, open_browser: bool = False):
    """Build `demo_app(folder)` and launch it; what `fastai-audio serve FOLDER` runs.

    Parameters
    ----------
    folder : str, Path or nn.Module
        An exported folder, 'hf://user/repo', or a loaded served model.
    host : str
        The address to listen on (default '127.0.0.1': this machine only; '0.0.0.0' for the network).
    port : int or None
        The port (default None: Gradio's, 7860, or the next free one).
    share : bool
        Also open a public gradio.live link (default False).
    top_k : int
        Labels listed for a classifier (default 5).
    block : bool
        Wait until interrupted (default True); False returns at once, the app serving in a thread.
    open_browser : bool
        Open the page in the default browser (default False).

    Returns
    -------
    gradio.Blocks
        The launched app: its URL is `app.local_url`; `app.close()` stops it.

    Raises
    ------
    ValueError
        As `demo_app`.
    ImportError
        Without Gradio.
    """
    app = demo_app(folder, top_k=top_k)
    app.launch(server_name=host, server_port=port, share=share, prevent_thread_lock=not block, inbrowser=open_browser,
               quiet=not block)
    return app
