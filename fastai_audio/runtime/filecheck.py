"""Why a file does not decode as audio, read from its bytes: headers that declare more audio than the file
holds (WAV/RF64, AIFF, AU, FLAC), what a non-audio file holds (an image, text, a Git LFS pointer...), and
decoder messages tidied for `AudioLoadError`. Used by `core.load_audio`."""
from __future__ import annotations

import codecs
import struct
from pathlib import Path

__all__ = []
#: public-internal: `core.load_audio` reads them
__internal__ = ('truncation_cause', 'non_audio_content', 'soundfile_message', 'describe_exception')


def _declared_beyond_end(n: int, avail: int) -> str | None:
    "The cause when a header declares `n` bytes of audio where `avail` remain (0xFFFFFFFF: size not given)."
    if n != 0xFFFFFFFF and n > avail:
        return f'truncated: the header declares {n} bytes of audio but the file holds {max(avail, 0)}'
    return None


def _chunk_truncation(f, size: int, endian: str, data_id: bytes) -> str | None:
    """For a RIFF/RF64 (WAV) or IFF (AIFF) file `f` of `size` bytes: is its audio chunk `data_id` cut short or
    missing? (RF64 gives the audio's 64-bit size in its 'ds64' chunk.)"""
    pos, big = 12, 0xFFFFFFFF
    while pos + 8 <= size:
        f.seek(pos)
        cid, n = struct.unpack(endian + '4sI', f.read(8))
        if cid == b'ds64':
            sizes = f.read(16)
            if len(sizes) < 16: return 'truncated within the header'
            big = struct.unpack('<8xQ', sizes)[0]
        if cid == data_id: return _declared_beyond_end(big if n == 0xFFFFFFFF else n, size - pos - 8)
        pos += 8 + n + (n & 1)
    return 'truncated: no audio data chunk after the header'


def _flac_truncation(f, size: int) -> str | None:
    "For a FLAC file `f` of `size` bytes: do audio frames follow its metadata blocks?"
    pos, total, last = 4, 0, False
    while not last:
        f.seek(pos)
        head = f.read(4)
        if len(head) < 4: return 'truncated within the header'
        last, n = bool(head[0] & 0x80), int.from_bytes(head[1:], 'big')
        if head[0] & 0x7F == 0:                  # STREAMINFO: the total number of samples is its bits 108-143
            total = int.from_bytes(f.read(18)[10:18], 'big') & ((1 << 36) - 1)
        pos += 4 + n
    if pos < size: return None
    if pos > size: return 'truncated within the header'
    if total: return f'truncated: the header declares {total} samples but no audio frames follow it'
    return 'the file contains no samples (no audio frames after the header)'


def truncation_cause(path: Path, size: int) -> str | None:
    """Say how a WAV (RIFF, RF64), AIFF, AU or FLAC file of `size` bytes is cut short: its header declares more
    audio than the file holds, or no audio follows the header. None for a whole file or another format. Reads
    headers only: libsndfile would otherwise load the part that is there as if it were all."""
    with open(path, 'rb') as f:
        head = f.read(12)
        kind, form = head[:4], head[8:12]
        if kind in (b'RIFF', b'RIFX', b'RF64', b'BW64') and form == b'WAVE':
            return _chunk_truncation(f, size, '>' if kind == b'RIFX' else '<', b'data')
        if kind == b'FORM' and form in (b'AIFF', b'AIFC'): return _chunk_truncation(f, size, '>', b'SSND')
        if kind == b'.snd' and len(head) == 12:
            start, n = struct.unpack('>II', head[4:])
            return _declared_beyond_end(n, size - start)
        if kind == b'fLaC': return _flac_truncation(f, size)
    return None


# What a file that no decoder reads holds, by its first bytes (text is recognised apart)
_NOT_AUDIO = {b'\x89PNG': 'a PNG image', b'\xff\xd8\xff': 'a JPEG image', b'GIF8': 'a GIF image',
              b'%PDF': 'a PDF document', b'PK\x03\x04': 'a ZIP archive',
              b'version https://git-lfs': 'a Git LFS pointer, not the audio itself (fetch it: git lfs pull)'}


def non_audio_content(path: Path) -> str | None:
    "What `path` holds when its first bytes show it is not audio (an image, a document, text), else None."
    with open(path, 'rb') as f: head = f.read(1024)
    what = next((w for magic, w in _NOT_AUDIO.items() if head.startswith(magic)), None)
    if what is not None: return what
    try: text = codecs.getincrementaldecoder('utf-8')().decode(head)     # a character cut at the end is fine
    except UnicodeDecodeError: return None
    if not all(c.isprintable() or c in '\t\n\r' for c in text): return None
    return 'an HTML page' if '<html' in text.lower() else 'text'


def soundfile_message(e: Exception, path: Path) -> str:
    "soundfile's error message without the file name it repeats and libsndfile's 'Error : ' prefix."
    msg = str(e).replace(f'Error opening {str(path)!r}: ', '').replace(str(path), '')
    return msg.strip().removeprefix('Error : ').strip(' :.') or type(e).__name__


def describe_exception(e: Exception) -> str:
    "'Type: message' for `e`, with the first sentence of the type's docstring when the message is empty."
    return f"{type(e).__name__}: {str(e) or (type(e).__doc__ or '').split('.')[0]}".strip(' :')
