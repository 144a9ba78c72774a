"""The waveform-in model served with torch alone: kept as a name, now part of `fastai_audio.frontend`.

Everything that was here (`WaveformClassifier`, `frame_signal`, `ConcatPool`, `build_network`,
`load_waveform_model`; `LogMelFrontEnd` is now `FrontEndModule`, for every front end) lives in
`fastai_audio/frontend.py`, the torch-only core: copy that one file next to an exported folder to serve it
without fastai.
"""
from .frontend import (ConcatPool, FrontEndModule, WaveformClassifier, build_network, frame_signal,  # noqa: F401
                       load_waveform_model)

__all__ = ['FrontEndModule', 'frame_signal', 'WaveformClassifier', 'ConcatPool', 'build_network', 'load_waveform_model']


def __getattr__(name):
    if name == 'LogMelFrontEnd':
        import warnings
        warnings.warn('LogMelFrontEnd is now frontend.FrontEndModule (any front end, built from a FrontEnd); the old '
                      'name goes in the next release', DeprecationWarning, stacklevel=2)
        return FrontEndModule
    raise AttributeError(f'module {__name__!r} has no attribute {name!r}')
