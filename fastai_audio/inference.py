"""Kept as a name: `AudioLearner` now lives in `learner.py` with `audio_learner`, and `Timeline` in `windows.py`."""
from .learner import AudioLearner  # noqa: F401
from .windows import Timeline  # noqa: F401

__all__ = ['AudioLearner', 'Timeline']
