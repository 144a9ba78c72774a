"""fastai_audio: audio classification and sound event detection with fastai 2.8 -- raw waveforms in,
spectrograms computed per batch on the batch's device, pretrained networks fine-tuned on them, and models
served with torch alone.

The package is built in layers, lowest first; a module imports only from its own layer and the layers before
it (`tests/test_layers.py` holds the code to that):

==============  ===========================================================================================
`runtime`       torch only: the front-end kernels (`functional`), `FrontEnd`, network description, events
`backbones`     torch only: the backbone registry and its presets, PANNs, CREPE, Hugging Face, SED heads
`serving`       torch only: the served modules, the one exported config, `load_exported`, the exporters,
                the model card and the Hugging Face Hub
`app`           the Gradio demo app on an exported folder (`serve_model`); Gradio imported here only
`core`          `AudioTensor`, `load_audio`, `get_audio_files` (fastai's tensor types begin here)
`transforms`    fastai batch transforms: the spectrogram front end and the augmentations
`data`          decoding and its cache, crop/pad, `AudioBlock`, the DataLoaders factories, SED loaders
`learn`         learners, metrics, windows and timelines, checkpoints, SED and embedding learners
`datasets`      recipes for public datasets, synthetic sets and soundscapes
`cli`           the `fastai-audio` command
==============  ===========================================================================================

Importing `fastai_audio` loads nothing heavy: a name is imported with its layer on first use (PEP 562), so
`from fastai_audio.serving import load_exported` needs torch alone. `from fastai_audio import *` gives fastai's
vision API (as `fastai.vision.all` gives it) together with this package's names, as in a fastai notebook.
The networks layer is `backbones`, not `models`: `models` stays fastai's, so `models.resnet18` means what it
means in every fastai notebook.
"""
import importlib as _importlib

__version__ = '0.2.0'

#: the layers, lowest first: a module of one imports only from those before it (and its own)
LAYERS = ('runtime', 'backbones', 'serving', 'app', 'core', 'transforms', 'data', 'learn', 'datasets', 'cli',
          'distributed_check')
_PUBLIC_LAYERS = LAYERS[:-2]                     # the layers whose `__all__` make up the package's names
_names: dict = {}                                # name -> object, filled as names are asked for


def _fastai_all():
    "The `fastai.vision.all` module, imported after `core` (which imports fastai first, quietly)."
    _importlib.import_module(f'{__name__}.core')
    return _importlib.import_module('fastai.vision.all')


def _ours(name):
    "The object `name` of the first layer whose `__all__` lists it, importing layers in order until found."
    for layer in _PUBLIC_LAYERS:
        module = _importlib.import_module(f'{__name__}.{layer}')
        if name in module.__all__: return getattr(module, name)
    raise AttributeError(name)


def __getattr__(name):
    if name == '__all__':
        fastai = _fastai_all()
        ours = [n for layer in _PUBLIC_LAYERS for n in _importlib.import_module(f'{__name__}.{layer}').__all__]
        fastai_names = [n for n in getattr(fastai, '__all__', dir(fastai)) if not n.startswith('_')]
        names = list(dict.fromkeys(fastai_names + ours))
        globals()['__all__'] = names
        return names
    if name.startswith('__'): raise AttributeError(f'module {__name__!r} has no attribute {name!r}')
    if name in _names: return _names[name]
    try: value = _ours(name)
    except AttributeError:
        fastai = _fastai_all()
        if not hasattr(fastai, name):
            raise AttributeError(f'module {__name__!r} has no attribute {name!r}') from None
        value = getattr(fastai, name)
    _names[name] = value
    return value


def __dir__():
    return sorted(set(globals()) | set(__getattr__('__all__')))
