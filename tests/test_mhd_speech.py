"""mmvae_lib.experiments.mhd.speech: espeak-ng speaks each digit word, deterministically per voice; MHD's mel
spectrogram (librosa's Slaney filter bank, 128 bands x 32 frames, dB) puts a tone in its band and a later onset
in later frames; the slabs are what the MHD reader unstacks."""
from __future__ import annotations

import numpy as np
import pytest
import torch

pytest.importorskip("espeakng_loader", reason="espeak-ng for the offline MHD: pip install -e '.[notebooks]'")

from mmvae_lib.experiments.mhd import data, speech  # noqa: E402


def test_every_digit_is_spoken_and_each_voice_the_same_way_every_time():
    waves = {}
    for word in speech.WORDS:
        wave, rate = speech.Voice("en-us").speak(word)
        assert rate == 22050 and len(wave) > 2000 and np.abs(wave).max() > 0.05 and wave.dtype == np.float32
        waves[word] = wave
    again, _ = speech.Voice("en-us").speak("seven")
    other, _ = speech.Voice("en-gb-scotland+f2", pitch=70, rate=140).speak("seven")
    assert np.array_equal(again, waves["seven"]) and not np.array_equal(other[:len(again)], again[:len(other)])
    with pytest.raises(ValueError, match="no voice"):
        speech.Voice("xx-nowhere").speak("one")


def test_the_mel_filters_are_librosa_s_slaney_triangles():
    filters = speech.mel_filters()
    bins = np.linspace(0, speech.SAMPLE_RATE / 2, speech.N_FFT // 2 + 1)
    peaks = bins[filters.argmax(axis=1)]
    assert filters.shape == (128, 1025) and (np.diff(peaks) >= 0).all() and (filters.sum(axis=1) > 0).all()
    area = filters.sum(axis=1) * (bins[1] - bins[0])              # Slaney normalisation: unit area in Hz
    wide = (filters > 0).sum(axis=1) >= 8
    assert wide.sum() > 50 and np.allclose(area[wide], 1.0, rtol=0.05)


def test_a_tone_lands_in_its_band_and_a_later_onset_in_later_frames():
    t = np.arange(speech.SAMPLE_RATE // 4) / speech.SAMPLE_RATE
    tone = (0.5 * np.sin(2 * np.pi * 1000.0 * t)).astype(np.float32)
    early, late = speech.mel_spectrogram(tone, onset=0), speech.mel_spectrogram(tone, onset=8000)
    assert early.shape == (128, 32)
    centres = np.linspace(0, speech.SAMPLE_RATE / 2, 1025)[speech.mel_filters().argmax(axis=1)]
    assert abs(centres[early.mean(axis=1).argmax()] - 1000.0) < 60.0
    loud_early, loud_late = early.max(axis=0).argmax(), late.max(axis=0).argmax()
    assert loud_early < 10 and loud_late >= 15 and early.max() - early.min() <= 80.0 + 1e-4


def test_the_slabs_are_what_the_mhd_reader_unstacks():
    wave, rate = speech.Voice("en-us").speak("three")
    spectrogram = speech.mel_spectrogram(speech.resample(wave, rate))
    stored = torch.from_numpy(speech.slabs(spectrogram))[None]              # (1, 4, 32, 32), as in mhd_*.pt
    assert torch.equal(data.unstack_sounds(stored)[0, 0], torch.from_numpy(spectrogram).T)    # frames x mels


def test_a_word_sounds_the_same_in_another_process_whatever_was_spoken_before():
    """espeak-ng keeps state between utterances; each is synthesised from the same fresh state instead."""
    import hashlib
    import subprocess
    import sys

    here = hashlib.sha256(speech.Voice("en-us").speak("four")[0].tobytes()).hexdigest()
    code = ("import hashlib\nfrom mmvae_lib.experiments.mhd import speech\n"
            "speech.Voice('en-029').speak('nine')\n"
            "print(hashlib.sha256(speech.Voice('en-us').speak('four')[0].tobytes()).hexdigest())")
    there = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout.strip()
    assert here == there
