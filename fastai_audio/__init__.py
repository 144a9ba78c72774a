"""fastai_audio: audio classification with fastai 2.8 -- raw waveforms in, spectrograms computed per batch on
the batch's device, pretrained CNNs fine-tuned on one-channel spectrograms.

`from fastai_audio import *` gives fastai's vision API (as `fastai.vision.all`) together with this package's.
"""
__version__ = '0.1.0'

import warnings as _warnings

with _warnings.catch_warnings():
    # fastai 2.8 decorates a few functions with torch.jit.script at import, which torch >= 2.10 deprecates with a
    # FutureWarning on every import; it is fastai's to change and says nothing about this package's use
    _warnings.filterwarnings('ignore', message=r'`torch\.jit\.script` is deprecated', category=FutureWarning)
    from fastai.vision.all import *  # noqa: F401,F403 -- the fastai user API, as fastai.vision.all gives it

from .core import *  # noqa: F401,F403
from .frontend import *  # noqa: F401,F403
from .features import *  # noqa: F401,F403
from .data import *  # noqa: F401,F403
from .augment import *  # noqa: F401,F403
from .pretrained import *  # noqa: F401,F403
from .learner import *  # noqa: F401,F403
from .metrics import *  # noqa: F401,F403
from .checkpoint import *  # noqa: F401,F403
from .windows import *  # noqa: F401,F403
from .events import *  # noqa: F401,F403
from .soundscapes import *  # noqa: F401,F403
from .sed import *  # noqa: F401,F403
from .sed_data import *  # noqa: F401,F403
from .sed_learner import *  # noqa: F401,F403
from .inference import *  # noqa: F401,F403
from .export import *  # noqa: F401,F403
from .panns import *  # noqa: F401,F403
from .crepe import *  # noqa: F401,F403
from .hf import *  # noqa: F401,F403
from .backbones import *  # noqa: F401,F403
from .embeddings import *  # noqa: F401,F403
from .archives import *  # noqa: F401,F403
from .datasets import *  # noqa: F401,F403
from .crossval import *  # noqa: F401,F403
from .presets import *  # noqa: F401,F403
from .synth import *  # noqa: F401,F403
