"Soundscapes with strong labels: deterministic, labelled where the sound is, readable back."
import numpy as np
import pytest
import soundfile as sf

from conftest import tone, write
from fastai_audio import Event, make_soundscapes, read_events


@pytest.fixture(scope='module')
def sources(tmp_path_factory):
    "Two classes of 0.6 s tones with 0.4 s of silence after each (a note and its silent tail)."
    root = tmp_path_factory.mktemp('src')
    for i in range(3):
        for label, f in (('low', 300.0), ('high', 3000.0)):
            write(root / f'{label}_x_{i:03d}-000-000.wav', np.concatenate([tone(f, 16000, 0.6), np.zeros(6400, np.float32)]),
                  16000)
    return root


def test_soundscapes_are_deterministic_and_labelled_where_the_sound_is(sources, tmp_path):
    a = make_soundscapes(sources, tmp_path / 'a', n=4, duration=3.0, events=(1, 3), snr_db=(20.0, 20.0), seed=1)
    b = make_soundscapes(sources, tmp_path / 'b', n=4, duration=3.0, events=(1, 3), snr_db=(20.0, 20.0), seed=1)
    assert (a / 'events.csv').read_text() == (b / 'events.csv').read_text()
    y0, sr = sf.read(a / 'scape_0000.wav')
    assert sr == 16000 and len(y0) == 48000 and np.array_equal(y0, sf.read(b / 'scape_0000.wav')[0])
    events = read_events(a / 'events.csv')
    assert {e.event_label for e in events} <= {'low', 'high'} and len({e.filename for e in events}) == 4
    for e in events:
        assert 0 <= e.onset < e.offset <= 3.0
        assert e.offset - e.onset <= 0.6 + 0.021            # the tone, not its silent tail (20 ms frames)
    # where a lone event sounds, the mixture is 20 dB over the -30 dBFS background
    lone = [e for e in events if not any(o is not e and o.filename == e.filename and o.onset < e.offset and
                                         o.offset > e.onset for o in events)]
    assert lone
    for e in lone:
        y, _ = sf.read(a / e.filename)
        inside = y[int(e.onset * 16000) + 160:int(e.offset * 16000) - 160]
        assert 10 * np.log10(np.mean(inside ** 2)) == pytest.approx(-30 + 20, abs=1.0)
    assert make_soundscapes(sources, tmp_path / 'c', n=4, duration=3.0, seed=2).joinpath('events.csv').read_text() != \
        (a / 'events.csv').read_text()


def test_reading_events_names_the_bad_row(tmp_path):
    f = tmp_path / 'ev.tsv'
    f.write_text('filename\tonset\toffset\tevent_label\na.wav\t0.5\t1.0\tdog\nb.wav\t\t\t\nc.wav\t2.0\t1.0\tcat\n')
    with pytest.raises(ValueError, match=r'ev.tsv, line 4: offset 1.0 must come after onset 2.0'):
        read_events(f)
    f.write_text('filename\tonset\toffset\tevent_label\na.wav\t0.5\t1.0\tdog\nb.wav\t\t\t\n')
    assert read_events(f) == [Event('a.wav', 0.5, 1.0, 'dog')]               # b.wav: a file without events
