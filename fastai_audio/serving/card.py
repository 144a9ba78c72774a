"""The model card: the README.md every exporter writes beside the weights, in the Hugging Face Hub's format
(YAML metadata between `---` lines, then Markdown), so a pushed folder shows on the Hub as what it is.

The metadata: `library_name: fastai_audio`, the tags (`audio-classification` or `sound-event-detection`), the
metrics of the last validation (as `model-index`), and the classes. The text: what the model hears (the front
end in words, `FrontEnd.describe`), how it was trained (`learn.record.TrainingLog`), how to load it with
torch alone and with this package, and its limits (sample rate, clip length).

The exporters write it (`save_waveform_model`), with the training facts of the learner's `TrainingLog` when
they were given a learner.
"""
from __future__ import annotations

from pathlib import Path

from .config import KINDS, config_kind

__all__ = ['model_card', 'write_model_card']

#: kind -> (the Hub's task tag, the Hub pipeline tag or None)
TASKS = {'classifier': ('audio-classification', 'audio-classification'),
         'embedding': ('audio-classification', 'audio-classification'),
         'sed': ('sound-event-detection', None)}


def model_card(config: dict, *, training: dict | None = None, name: str = 'model') -> str:
    """The README.md of an exported folder: Hub metadata and the text a user needs.

    Parameters
    ----------
    config : dict
        The folder's config.json (any kind).
    training : dict or None
        How it was trained, as `TrainingLog.facts` gives it (default None: the card says it was not recorded).
    name : str
        The model's name, its title and the `model-index` name (default 'model'; the exporters pass the
        folder's name).

    Returns
    -------
    str
        The card: `---`, the YAML metadata, `---`, Markdown.
    """
    from huggingface_hub import EvalResult, ModelCardData
    from .load import SERVED
    kind = config_kind(config)
    spec = SERVED[kind][0].from_dict(config)
    task, pipeline = TASKS[kind]
    training = training or {}
    metrics = training.get('metrics') or {}
    dataset = training.get('dataset') or 'validation split'
    evals = [EvalResult(task_type=task, dataset_type='custom', dataset_name=dataset, dataset_split='validation',
                        metric_type=m, metric_name=m if m.startswith('valid') else f'valid {m}', metric_value=round(float(v), 4))
             for m, v in metrics.items()]
    data = ModelCardData(library_name='fastai_audio', tags=['audio', task, 'fastai', 'fastai_audio'],
                         pipeline_tag=pipeline, metrics=list(metrics) or None, model_name=name,
                         eval_results=evals or None, classes=list(spec.classes))
    return f'---\n{data.to_yaml()}\n---\n\n' + _text(kind, spec, training, name)


def write_model_card(folder, *, training: dict | None = None) -> Path:
    """Write `model_card` of the exported `folder` as folder/README.md.

    Parameters
    ----------
    folder : str or Path
        An exported folder (it has config.json).
    training : dict or None
        How it was trained (`TrainingLog.facts`; default None).

    Returns
    -------
    Path
        The README.md written.

    Raises
    ------
    FileNotFoundError
        When the folder has no config.json.
    """
    from .config import read_config
    folder = Path(folder)
    card = folder / 'README.md'
    card.write_text(model_card(read_config(folder), training=training, name=folder.resolve().name))
    return card


def _hears(kind, spec) -> tuple[str, int, str]:
    "(the front end in words, the sample rate, what one prediction covers) of a record."
    if kind == 'embedding':
        return (f'mono audio at {spec.sample_rate} Hz, embedded by {spec.name} in frames of {spec.window:g} s every '
                f'{spec.hop:g} s, each scored by a trained head', spec.sample_rate,
                f'frames of {spec.window:g} s every {spec.hop:g} s, probabilities averaged over the clip')
    fe = spec.front_end
    if kind == 'sed':
        step = fe.hop_length / fe.sample_rate
        return fe.describe(), fe.sample_rate, f'a recording of any length, one probability per class every {step * 1000:.0f} ms'
    if spec.window is None:
        return fe.describe(), fe.sample_rate, 'the whole clip at once'
    return (fe.describe(), fe.sample_rate, f'windows of {spec.window:g} s every {spec.hop or spec.window / 2:g} s, '
            f"probabilities {'averaged' if spec.agg == 'mean' else 'maximised'} over the clip (a shorter clip is "
            f'padded with {spec.pad})')


def _text(kind: str, spec, training: dict, name: str) -> str:
    hears, sr, covers = _hears(kind, spec)
    classes = ', '.join(f'`{c}`' for c in spec.classes) or '(none)'
    multi = getattr(spec, 'multi_label', kind == 'sed')
    lines = [f'# {name}', '',
             f'A {KINDS[kind]} trained with fastai_audio (fastai 2.8 for audio): '
             f'{len(spec.classes)} classes ({classes}), '
             + ('each scored on its own (sigmoid: several can be present).' if multi else 'one per clip (softmax).'),
             '', '## What it hears', '', f'{hears[0].upper()}{hears[1:]}.', '', f'One prediction covers {covers}.', '',
             '## How it was trained', '']
    if training:
        facts = [('Architecture', training.get('architecture')), ('Epochs', training.get('epochs')),
                 ('Training clips', training.get('train_items')), ('Validation clips', training.get('valid_items')),
                 ('Dataset', training.get('dataset')), ('Seed', training.get('seed'))]
        facts += [(f'Last validation: {m}', f'{v:.4f}') for m, v in (training.get('metrics') or {}).items()]
        facts += [('Versions', ', '.join(f'{k} {v}' for k, v in (training.get('versions') or {}).items() if v))]
        lines += ['| | |', '| --- | --- |'] + [f'| {k} | {v} |' for k, v in facts if v is not None] + ['']
    else: lines += ['Not recorded (the folder was written without its learner).', '']
    loader = {'sed': 'model.events(torch.from_numpy(wave))     # [(onset, offset, label), ...] in seconds'}.get(
        kind, 'probs = model(torch.from_numpy(wave))     # (n_classes,), in the order of config.json "classes"')
    lines += ['## How to use it', '',
              'With this package (`pip install fastai_audio`), torch alone at run time:', '', '```python',
              'from fastai_audio.serving import load_exported', 'from fastai_audio.runtime import conform_waveform',
              'import soundfile, torch', '',
              "model = load_exported('hf://USER/REPO')            # or the folder's path",
              "samples, rate = soundfile.read('clip.wav', dtype='float32')",
              f'wave = conform_waveform(samples, rate, sr={sr}, channels_last=True)[0]   # mono, {sr} Hz',
              loader, '```', '',
              'Without it: `model.ts` (TorchScript, `torch.jit.load`) and `model.onnx` (onnxruntime) hold their own '
              'graph, waveform in, probabilities out, when the folder has them; `config.json` says the rate and the '
              'classes. `fastai-audio serve FOLDER` opens a demo app in the browser.', '',
              '## Limits', '',
              f'- It hears mono audio at {sr} Hz: resample and downmix first (as above). Content above {sr // 2} Hz '
              'is lost.',
              f'- One prediction covers {covers}.',
              f"- It knows only the classes above and the recordings it was trained on{' (' + training['dataset'] + ')' if training.get('dataset') else ''}: "
              'on other sounds or recording conditions it will still answer with one of them.', '']
    return '\n'.join(lines)
