"Sound events: frame targets from strong labels, events from frame probabilities, DCASE metrics (hand-counted)."
import pytest
import torch

from fastai_audio.runtime.events import (Event, decode_events, event_scores, event_targets, frame_times, median_filter,
                                         segment_scores)


def test_targets_follow_the_front_ends_frame_times():
    # 10 ms frames (hop 160 at 16 kHz): frame i stands for i * 10 ms when centred, 12.5 ms later when not (n_fft 400)
    e = [Event('f', 0.1, 0.25, 'dog')]
    y = event_targets(e, 40, ['cat', 'dog'], hop_length=160, sr=16000)
    assert y.shape == (40, 2) and y[:, 0].sum() == 0
    assert torch.nonzero(y[:, 1]).flatten().tolist() == list(range(10, 25))
    y = event_targets(e, 40, ['cat', 'dog'], hop_length=160, sr=16000, center=False, n_fft=400)
    assert torch.nonzero(y[:, 1]).flatten().tolist() == list(range(9, 24))      # 0.0925 s .. 0.2425 s
    torch.testing.assert_close(frame_times(3, 160, 16000, center=False, n_fft=400), torch.tensor([0.0125, 0.0225, 0.0325],
                                                                                                 dtype=torch.float64))
    with pytest.raises(ValueError, match="event label 'bird' is not in the vocabulary"):
        event_targets([Event('f', 0.0, 0.1, 'bird')], 10, ['cat', 'dog'], 160, 16000)


def test_decoding_merges_gaps_drops_blips_and_scores_the_peak():
    p = torch.zeros(100, 2)
    p[10:20, 0], p[20, 0], p[21:31, 0] = 0.9, 0.2, 0.8        # one event with a one-frame dip
    p[50, 1] = 0.95                                            # a 10 ms blip
    ev = decode_events(p, ['a', 'b'], 0.01, threshold=0.5, min_gap=0.02, min_duration=0.05, filename='x.wav')
    assert ev == [Event('x.wav', pytest.approx(0.10), pytest.approx(0.31), 'a', pytest.approx(0.9))]
    apart = decode_events(p, ['a', 'b'], 0.01, threshold=0.5)
    assert [(e.event_label, round(e.onset, 2), round(e.offset, 2)) for e in apart] == \
        [('a', 0.1, 0.2), ('a', 0.21, 0.31), ('b', 0.5, 0.51)]
    smoothed = decode_events(p, ['a', 'b'], 0.01, median=3)    # the dip and the blip are filtered away
    assert [(e.event_label, round(e.onset, 2), round(e.offset, 2)) for e in smoothed] == [('a', 0.1, 0.31)]
    per_class = decode_events(p, ['a', 'b'], 0.01, threshold=[0.85, 0.5])
    assert [(e.event_label, round(e.onset, 2)) for e in per_class] == [('a', 0.1), ('b', 0.5)]


def test_hysteresis_extends_an_event_while_it_stays_above_the_low_threshold():
    p = torch.tensor([0.1, 0.4, 0.6, 0.9, 0.6, 0.4, 0.1, 0.7, 0.1])[:, None]
    (e,) = decode_events(p, ['a'], 1.0, threshold=0.8, low=0.5)
    assert (e.onset, e.offset) == (2.0, 5.0)                   # 0.6 0.9 0.6; the later 0.7 never passes 0.8


def test_median_filter_matches_a_hand_computed_case():
    x = torch.tensor([[0.0], [1.0], [0.0], [1.0], [1.0], [0.0]])
    assert median_filter(x, 3).flatten().tolist() == [0.0, 0.0, 1.0, 1.0, 1.0, 0.0]


def test_segment_scores_by_hand():
    ref = [Event('f', 0.0, 1.5, 'a'), Event('f', 2.2, 2.8, 'b')]
    est = [Event('f', 0.2, 0.8, 'a'), Event('f', 2.1, 2.5, 'c')]
    s = segment_scores(ref, est, durations={'f': 3.0})
    # segment 0: a hit; 1: a missed (deletion); 2: b missed and c inserted (one substitution)
    assert (s['tp'], s['fp'], s['fn']) == (1, 1, 2)
    assert (s['substitutions'], s['deletions'], s['insertions'], s['n_reference']) == (1, 1, 0, 3)
    assert s['error_rate'] == pytest.approx(2 / 3)
    assert s['f1_micro'] == pytest.approx(2 * 1 / (2 * 1 + 1 + 2))
    assert s['f1_macro'] == pytest.approx((2 / 3 + 0.0) / 2)   # classes of the reference: a (2/3) and b (0)
    perfect = segment_scores(ref, ref)
    assert perfect['f1_micro'] == 1.0 and perfect['error_rate'] == 0.0


def test_event_scores_collars_by_hand():
    ref = [Event('f', 1.0, 2.0, 'a'), Event('f', 3.0, 8.0, 'b')]
    est = [Event('f', 1.15, 2.1, 'a'),                         # onset 0.15, offset 0.1: within the collars
           Event('f', 1.3, 2.0, 'a'),                          # onset 0.3 late: a false positive
           Event('f', 3.1, 8.9, 'b')]                          # offset 0.9 off, within 20% of a 5 s event
    s = event_scores(ref, est)
    assert (s['tp'], s['fp'], s['fn']) == (2, 1, 0)
    assert s['f1_micro'] == pytest.approx(4 / 5) and s['per_class']['b']['f1'] == 1.0
    strict = event_scores(ref, est, percentage_of_length=0.0)
    assert (strict['tp'], strict['fn']) == (1, 1)
    onsets_only = event_scores(ref, [Event('f', 1.1, 5.0, 'a')], evaluate_offset=False)
    assert onsets_only['per_class']['a']['tp'] == 1


def test_event_matching_is_a_maximum_matching():
    "Greedy matching in reference order would pair a1 with e1 and leave a2 unmatched; the maximum pairs both."
    ref = [Event('f', 0.0, 1.0, 'a'), Event('f', 0.3, 1.3, 'a')]
    est = [Event('f', 0.15, 1.15, 'a'), Event('f', 0.05, 0.95, 'a')]
    assert event_scores(ref, est)['tp'] == 2
    assert event_scores(ref, [Event('g', 0.0, 1.0, 'a')])['tp'] == 0       # another file never matches


def test_scores_agree_with_sed_eval_on_random_event_lists():
    "Where sed_eval imports (it needs dcase_util and seven more packages: not in the dev extra), the same numbers."
    sed_eval = pytest.importorskip('sed_eval')
    dcase_util = pytest.importorskip('dcase_util')
    import random
    rng = random.Random(0)
    classes = ['a', 'b', 'c']

    def events(f, n):
        out = []
        for _ in range(n):
            on = round(rng.uniform(0, 9), 2)
            out.append(Event(f, on, round(on + rng.uniform(0.1, 3.0), 2), rng.choice(classes)))
        return out

    for trial in range(10):
        files = [f'f{i}.wav' for i in range(3)]
        ref = [e for f in files for e in events(f, rng.randint(1, 6))]
        est = [Event(e.filename, round(e.onset + rng.gauss(0, 0.2), 2), round(e.offset + rng.gauss(0, 0.4), 2),
                     e.event_label if rng.random() < 0.8 else rng.choice(classes)) for e in ref if rng.random() < 0.8]
        est = [e for e in est if e.offset > e.onset] + [e for f in files for e in events(f, rng.randint(0, 2))]
        seg = sed_eval.sound_event.SegmentBasedMetrics(event_label_list=classes, time_resolution=1.0)
        evm = sed_eval.sound_event.EventBasedMetrics(event_label_list=classes, t_collar=0.2, percentage_of_length=0.2)
        for f in files:
            def box(evs): return dcase_util.containers.MetaDataContainer(
                [dict(filename=e.filename, onset=e.onset, offset=e.offset, event_label=e.event_label) for e in evs
                 if e.filename == f])
            seg.evaluate(reference_event_list=box(ref), estimated_event_list=box(est))
            evm.evaluate(reference_event_list=box(ref), estimated_event_list=box(est))
        ours_s, ours_e = segment_scores(ref, est), event_scores(ref, est)
        so, eo = seg.results_overall_metrics(), evm.results_overall_metrics()
        assert ours_s['f1_micro'] == pytest.approx(so['f_measure']['f_measure'], abs=1e-9), trial
        assert ours_s['error_rate'] == pytest.approx(so['error_rate']['error_rate'], abs=1e-9), trial
        assert ours_s['f1_macro'] == pytest.approx(seg.results_class_wise_average_metrics()['f_measure']['f_measure'],
                                                   abs=1e-9), trial
        assert ours_e['f1_micro'] == pytest.approx(eo['f_measure']['f_measure'], abs=1e-9), trial
        assert ours_e['f1_macro'] == pytest.approx(evm.results_class_wise_average_metrics()['f_measure']['f_measure'],
                                                   abs=1e-9), trial


def test_timeline_events_from_sliding_windows():
    from fastai_audio import Timeline
    tl = Timeline(torch.tensor([0.0, 0.5, 1.0, 1.5]), torch.tensor([[0.9, 0.1], [0.9, 0.2], [0.1, 0.8], [0.1, 0.9]]),
                  1.0, ['a', 'b'])
    ev = tl.events(filename='x.wav')
    # a run of windows covers their span minus the windows around it where the class is off: 'a' is in [0, 1] or
    # [0.5, 1.5] but not in [1, 2]; 'b' is in [1, 2] and [1.5, 2.5] but not in [0.5, 1.5]
    assert [(e.event_label, e.onset, e.offset) for e in ev] == [('a', 0.0, 1.0), ('b', 1.5, 2.5)]
    gated = Timeline(tl.starts, tl.probs, 1.0, ['a', 'b'], levels=torch.tensor([-20.0, -70.0, -20.0, -20.0]))
    assert [(e.event_label, e.onset, e.offset) for e in gated.events()] == [('a', 0.0, 0.5), ('b', 1.5, 2.5)]
    assert gated.heard.tolist() == [True, False, True, True]
    assert Timeline(tl.starts, tl.probs, 1.0, ['a', 'b'], levels=torch.tensor([-70.0, -70.0, -20.0, -20.0])).top(1) == ['b']
    assert ev[1].score == pytest.approx(0.9) and ev[0].filename == 'x.wav'


def test_a_clip_learner_finds_when_each_tone_sounds(tone_learner, tmp_path):
    "Low then high tone, 1 s each: one event of each, meeting near 1 s (windows of 0.5 s every 0.25 s)."
    import numpy as np
    from conftest import tone, write
    f = write(tmp_path / 'mix.wav', np.concatenate([tone(300.0, 16000, 1.0), tone(3000.0, 16000, 1.0)]), 16000)
    *_, tl = tone_learner.predict(f, with_timeline=True)
    ev = {e.event_label: e for e in tl.events()}
    assert sorted(ev) == ['high', 'low'] and len(tl.events()) == 2
    assert ev['low'].onset == 0.0 and ev['high'].offset == pytest.approx(2.0)
    assert abs(ev['low'].offset - 1.0) <= 0.375 and abs(ev['high'].onset - 1.0) <= 0.375


def _hits(tmp_path, sr=16000):
    "Silence 1 s, then high, low, high tones of 0.4 s each, separated by 1 s of silence: (file, true onsets, length)."
    import numpy as np
    from conftest import tone, write
    gap, parts, onsets, t = np.zeros(sr, np.float32), [], [], 0.0
    for f in (3000.0, 300.0, 3000.0):
        parts += [gap, tone(f, sr, 0.4)]
        onsets.append((('high' if f > 1000 else 'low'), t + 1.0))
        t += 1.4
    parts.append(gap)
    wave = np.concatenate(parts)
    return write(tmp_path / 'hits.wav', wave, sr), onsets, len(wave) / sr


def test_no_event_in_silence_and_onsets_within_a_hop(tone_learner, tmp_path):
    "Hits separated by silence: every event holds a hit, its onset at most one hop before the truth, never after."
    f, truth, length = _hits(tmp_path)
    *_, tl = tone_learner.predict(f, window=0.5, hop=0.125, with_timeline=True)
    ev = tl.events()
    assert [e.event_label for e in ev] == [label for label, _ in truth]
    for e, (_, on) in zip(ev, truth):
        assert on - 0.125 - 1e-6 <= e.onset <= on + 1e-6, (e, on)
        assert on + 0.4 - 1e-6 <= e.offset <= on + 0.4 + 0.125 + 1e-6, (e, on)
    assert all(e.offset <= length for e in ev)
    ungated = tone_learner.predict(f, window=0.5, hop=0.125, with_timeline=True, gate_db=None)[-1]
    span = lambda events: sum(e.offset - e.onset for e in events)   # noqa: E731
    assert span(ungated.events()) > span(ev) + 0.5  # without the gate the network hears a tone in the silence


@pytest.mark.parametrize('level', [0.0, 1e-4])
def test_silence_and_near_silence_are_no_event_and_say_so(tone_learner, tmp_path, level):
    import numpy as np
    from conftest import write
    quiet = write(tmp_path / 'quiet.wav', (level * np.random.default_rng(0).standard_normal(32000)).astype(np.float32), 16000)
    with pytest.warns(UserWarning, match='quiet.wav is silent or nearly'):
        *_, tl = tone_learner.predict(quiet, with_timeline=True)
    assert tl.events() == [] and not tl.heard.any()


def test_psds_closed_form():
    "One hour, class a: at one threshold half its events found, at another all of them and one false alarm."
    from fastai_audio.runtime.events import psds
    ref = [Event('f', 0, 10, 'a'), Event('f', 100, 110, 'a')]
    ops = [[Event('f', 0, 10, 'a')], [Event('f', 0, 10, 'a'), Event('f', 100, 110, 'a'), Event('f', 500, 510, 'a')]]
    # ROC points (eFPR per hour, TPR): (0, 0.5), (1, 1.0): the area to 2 per hour is 0.5 + 1.0 of 2
    assert psds(ref, ops, {'f': 3600.0}, max_efpr=2.0) == pytest.approx(0.75)
    assert psds(ref, ops, {'f': 3600.0}) == pytest.approx((0.5 + 99 * 1.0) / 100)
    ref_b = ref + [Event('f', 200, 210, 'b')]                          # a class never found: mean - spread is 0
    assert psds(ref_b, ops, {'f': 3600.0}, max_efpr=2.0) == 0.0
    assert psds(ref_b, ops, {'f': 3600.0}, max_efpr=2.0, alpha_st=0.0) == pytest.approx((0.25 + 0.5) / 2)
    short = [[Event('f', 0, 5, 'a')]]                                  # half of a reference: under the GTC of 0.7
    assert psds(ref, short, {'f': 3600.0}) == 0.0 and psds(ref, short, {'f': 3600.0}, dtc=0.5, gtc=0.5) > 0
    with pytest.raises(ValueError, match='dtc must be in'):
        psds(ref, ops, {'f': 3600.0}, dtc=1.5)


def _random_case(seed):
    "Files, reference events and five operating points of decreasing recall, no two events of a class overlapping."
    import random
    r = random.Random(seed)
    files = {f'f{i}.wav': r.uniform(5, 10) for i in range(4)}

    def disjoint(events):
        out = []
        for e in sorted(events, key=lambda e: (e.filename, e.event_label, e.onset)):
            if out and out[-1][:1] == e[:1] and out[-1].event_label == e.event_label and e.onset < out[-1].offset: continue
            if e.offset > e.onset: out.append(e)
        return out
    ref = []
    for f, d in files.items():
        for _ in range(r.randint(1, 4)):
            on = r.uniform(0, d - 1)
            ref.append(Event(f, on, min(d, on + r.uniform(0.3, 2)), r.choice('abc')))
    ops = []
    for t in range(5):
        est = [Event(e.filename, max(0, e.onset + r.uniform(-0.3, 0.3)), e.offset + r.uniform(-0.3, 0.3),
                     e.event_label if r.random() < 0.8 else r.choice('abc')) for e in ref if r.random() < 0.8 - 0.12 * t]
        for _ in range(r.randint(0, 6 - t)):
            f = r.choice(list(files))
            on = r.uniform(0, files[f] - 0.5)
            est.append(Event(f, on, on + r.uniform(0.1, 1), r.choice('abc')))
        ops.append(disjoint(est))
    return files, disjoint(ref), ops


@pytest.mark.parametrize('seed', range(6))
def test_psds_equals_psds_eval(seed, monkeypatch):
    "DCASE's reference implementation as the oracle, both scenarios and no class-spread cost, to the largest eFPR."
    pd = pytest.importorskip('pandas')
    psds_eval = pytest.importorskip('psds_eval')
    from fastai_audio.runtime.events import psds
    fillna = pd.DataFrame.fillna                       # psds_eval 0.5.3 still calls fillna(method='ffill'), gone in pandas 3
    monkeypatch.setattr(pd.DataFrame, 'fillna', lambda self, value=None, *, method=None, **kw:
                        self.ffill() if method == 'ffill' else fillna(self, value, **kw))
    cols = ['filename', 'onset', 'offset', 'event_label']
    files, ref, ops = _random_case(seed)
    for dtc, cttc, alpha_ct, alpha_st in ((0.7, 0.3, 0.0, 1.0), (0.1, 0.3, 0.5, 1.0), (0.5, 0.3, 0.0, 0.0)):
        oracle = psds_eval.PSDSEval(dtc_threshold=dtc, gtc_threshold=dtc, cttc_threshold=cttc,
                                    ground_truth=pd.DataFrame([e[:4] for e in ref], columns=cols),
                                    metadata=pd.DataFrame({'filename': list(files), 'duration': list(files.values())}))
        for i, op in enumerate(ops): oracle.add_operating_point(pd.DataFrame([e[:4] for e in op], columns=cols), info={'i': i})
        want = oracle.psds(alpha_ct=alpha_ct, alpha_st=alpha_st, max_efpr=None).value   # (a max_efpr between points
        got = psds(ref, ops, files, dtc=dtc, gtc=dtc, cttc=cttc, alpha_ct=alpha_ct, alpha_st=alpha_st, max_efpr=None)
        assert got == pytest.approx(want, abs=1e-9), (dtc, alpha_ct, alpha_st)        # trips numpy 2 in psds_eval)


def test_event_tables_for_raven_and_audacity(tmp_path):
    import csv
    from fastai_audio.runtime.events import event_table_name, write_event_tables, write_events
    ev = [Event('a.wav', 1.5, 2.25, 'dog', 0.9), Event('a.wav', 0.25, 1.0, 'cat', 0.75)]
    raven = write_events(ev, tmp_path / 'a.Table.1.selections.txt', 'raven', high_freq=8000)
    rows = list(csv.DictReader(raven.open(), delimiter='\t'))
    assert list(rows[0]) == ['Selection', 'View', 'Channel', 'Begin Time (s)', 'End Time (s)', 'Low Freq (Hz)',
                             'High Freq (Hz)', 'Annotation', 'Score']
    assert [(r['Selection'], r['View'], r['Channel'], float(r['Begin Time (s)']), float(r['End Time (s)']), r['Annotation'],
             float(r['High Freq (Hz)'])) for r in rows] == [('1', 'Spectrogram 1', '1', 0.25, 1.0, 'cat', 8000.0),
                                                            ('2', 'Spectrogram 1', '1', 1.5, 2.25, 'dog', 8000.0)]
    audacity = write_events(ev, tmp_path / 'a.txt', 'audacity')
    assert [line.split('\t') for line in audacity.read_text().splitlines()] == \
        [['0.250000', '1.000000', 'cat'], ['1.500000', '2.250000', 'dog']]
    from fastai_audio import read_events
    assert [tuple(e[:4]) for e in read_events(write_events(ev, tmp_path / 'a.csv'))] == \
        [('a.wav', 0.25, 1.0, 'cat'), ('a.wav', 1.5, 2.25, 'dog')]                    # the CSV reads back
    assert event_table_name('sub/b.flac', 'raven') == 'sub/b.Table.1.selections.txt'
    written = write_event_tables({'sub/b.flac': [], 'a.wav': ev}, tmp_path / 'tables', 'audacity')
    assert sorted(p.relative_to(tmp_path / 'tables').as_posix() for p in written) == ['a.txt', 'sub/b.txt']
    assert (tmp_path / 'tables' / 'sub' / 'b.txt').read_text() == ''
    with pytest.raises(ValueError, match="unknown event table format 'praat'"):
        write_events(ev, tmp_path / 'x', 'praat')


def test_a_clip_learner_writes_its_timeline_events_for_other_tools(tone_learner, tmp_path):
    import csv
    import numpy as np
    from conftest import tone, write
    (tmp_path / 'in' / 'sub').mkdir(parents=True)
    write(tmp_path / 'in' / 'mix.wav', np.concatenate([tone(300.0, 16000, 1.0), tone(3000.0, 16000, 1.0)]), 16000)
    write(tmp_path / 'in' / 'sub' / 'quiet.wav', np.zeros(16000, np.float32), 16000)
    with pytest.warns(UserWarning, match='quiet.wav is silent'):
        df = tone_learner.predict_events_folder(tmp_path / 'in', format='raven', out=tmp_path / 'raven')
    assert sorted(set(df.filename)) == ['mix.wav'] and sorted(df.event_label) == ['high', 'low']
    rows = list(csv.DictReader((tmp_path / 'raven' / 'mix.Table.1.selections.txt').open(), delimiter='\t'))
    assert sorted(r['Annotation'] for r in rows) == ['high', 'low'] and float(rows[0]['High Freq (Hz)']) == 8000.0
    assert list(csv.DictReader((tmp_path / 'raven' / 'sub' / 'quiet.Table.1.selections.txt').open(), delimiter='\t')) == []
