"""Data, by concept: `loading` (decode + cache), `croppad` (crop/pad), `blocks` (`AudioBlock`, `AudioDataLoaders`),
`fluent` (the classic `AudioItemList`), `badfiles` (finding and skipping unreadable files).

This module gathers their names, so `from fastai_audio.data import AudioDataLoaders` keeps working.
"""
from .badfiles import *  # noqa: F401,F403
from .badfiles import _check_on_error  # noqa: F401
from .blocks import *  # noqa: F401,F403
from .croppad import *  # noqa: F401,F403
from .fluent import *  # noqa: F401,F403
from .loading import *  # noqa: F401,F403

__all__ = ['crop_pad', 'is_multi_label', 'find_bad_audio', 'check_one_rate', 'FolderSplitter', 'AudioLoader', 'CropPad',
           'BalancedAudioDL', 'class_balance_weights',
           'same_rate', 'pad_to_longest', 'AudioDL', 'AudioBlock', 'AudioRegexLabeller', 'AudioDataLoaders',
           'AudioItemList', 'audio_loader_of']
