#!/usr/bin/env python3
"""Write the audio files kamailio.cfg plays through rtpengine (standard library + espeak-ng).

    python3 deploy/kamailio/make_media.py /usr/share/icenter/media [--language de|en]

With `espeak-ng` on PATH (Debian: `apt-get install espeak-ng`) the announcements are spoken;
without it (or with `--no-speech`) they are placeholders made of tones. The output says which
one was written. Every file is 8 kHz mono 16-bit WAV; a site may replace any of them with its
own recording under the same name (any format rtpengine's ffmpeg reads):

- queue-position-<n>.wav (n = 1 .. --positions): "Sie sind Anrufer Nummer n" / "you are
  caller number n", then hold music; played in a loop while a caller waits at position n.
  Tones: a chime, n short beeps, then music.
- queue-waiting.wav: the same without a position (position unknown or above --positions).
- queue-closed.wav: "we are closed"; played once, then Kamailio ends the call (480). At most
  30 seconds (Kamailio's async timer limit).
- hold-music.wav: music alone.

Per-queue announcements (the texts managers enter on a queue) are written by
`manage.py make_announcements`, which uses the functions of this file.
"""

from __future__ import annotations

import argparse
import math
import operator
import shutil
import struct
import subprocess
import sys
import tempfile
import wave
from pathlib import Path

RATE = 8000
AMPLITUDE = 9000
SPEECH_PEAK = 16000
ESPEAK = "espeak-ng"
# espeak-ng voice per language, and the generic texts (the queues' own texts come from icenter)
VOICES = {"de": "de", "en": "en-gb"}
TEXTS = {
    "de": {
        "position": "Sie sind Anrufer Nummer {n}. Bitte bleiben Sie am Apparat.",
        "waiting": "Alle Mitarbeiter sind im Gespräch. Bitte bleiben Sie am Apparat, "
        "Sie werden gleich verbunden.",
        "closed": "Wir sind zurzeit leider nicht erreichbar. "
        "Bitte rufen Sie während unserer Öffnungszeiten wieder an. Auf Wiederhören.",
    },
    "en": {
        "position": "You are caller number {n}. Please hold the line.",
        "waiting": "All our agents are busy. Please hold the line, you will be connected shortly.",
        "closed": "Sorry, we are closed at the moment. Please call again during our "
        "opening hours. Goodbye.",
    },
}


class SpeechError(RuntimeError):
    """espeak-ng is missing or could not speak a text."""


def tone(freq: float, seconds: float, volume: float = 1.0) -> list[int]:
    """A sine tone with 10 ms fade in/out (no clicks)."""
    count = int(RATE * seconds)
    fade = max(1, int(RATE * 0.01))
    samples = []
    for i in range(count):
        envelope = min(1.0, i / fade, (count - i) / fade)
        value = math.sin(2 * math.pi * freq * i / RATE)
        samples.append(int(AMPLITUDE * volume * envelope * value))
    return samples


def silence(seconds: float) -> list[int]:
    return [0] * int(RATE * seconds)


def chime() -> list[int]:
    return tone(660, 0.3) + tone(880, 0.4) + silence(0.4)


def beeps(count: int) -> list[int]:
    samples: list[int] = []
    for _ in range(count):
        samples += tone(1000, 0.18) + silence(0.22)
    return samples + silence(0.4)


def music(seconds: float) -> list[int]:
    """A slow arpeggio (C, Am, F, G) with a soft fifth below: recognisable, not silence."""
    chords = [
        (261.6, 329.6, 392.0),
        (220.0, 261.6, 329.6),
        (174.6, 220.0, 261.6),
        (196.0, 246.9, 293.7),
    ]
    samples: list[int] = []
    step = 0
    while len(samples) < RATE * seconds:
        chord = chords[(step // 4) % len(chords)]
        note = chord[step % 3] * (2 if step % 4 == 3 else 1)
        melody = tone(note, 0.3, 0.7)
        bass = tone(chord[0] / 2, 0.3, 0.3)
        samples += [a + b for a, b in zip(melody, bass, strict=True)]
        step += 1
    return samples[: int(RATE * seconds)]


def sit_closed() -> list[int]:
    """Three rising tones (like the telephone network's "number not available"), twice."""
    once = tone(913.8, 0.33) + tone(1370.6, 0.33) + tone(1776.7, 0.33) + silence(0.6)
    return once + once


def resample(samples: list[int], source_rate: int, target_rate: int = RATE) -> list[int]:
    """Convert to `target_rate` with a windowed-sinc low-pass (no aliasing above 0.45 x rate).

    Polyphase: the filter taps for every fractional position between two input samples are
    computed once, each output sample is one dot product.
    """
    if source_rate == target_rate or not samples:
        return list(samples)
    common = math.gcd(source_rate, target_rate)
    up, down = target_rate // common, source_rate // common
    cutoff = 0.9 * min(source_rate, target_rate) / source_rate  # of the input's Nyquist
    half = max(8, math.ceil(8 / cutoff))  # 8 zero crossings of the sinc on either side
    phases = []
    for phase in range(up):
        frac = phase / up
        taps = []
        for j in range(2 * half):
            x = frac + half - 1 - j  # distance from the output point to input sample j
            window = 0.5 + 0.5 * math.cos(math.pi * x / half) if abs(x) < half else 0.0
            sinc = 1.0 if x == 0 else math.sin(math.pi * cutoff * x) / (math.pi * cutoff * x)
            taps.append(cutoff * sinc * window)
        total = sum(taps)
        phases.append([t / total for t in taps])
    padded = [0] * half + list(samples) + [0] * half
    out = []
    for k in range(len(samples) * up // down):
        base, phase = divmod(k * down, up)
        window_samples = padded[base + 1 : base + 1 + 2 * half]
        out.append(round(sum(map(operator.mul, phases[phase], window_samples))))
    return out


def read_wav(path: Path) -> tuple[list[int], int]:
    """16-bit PCM samples (mixed down to mono) and the sample rate of a WAV file."""
    with wave.open(str(path), "rb") as source:
        if source.getsampwidth() != 2:
            raise SpeechError(f"{path}: not 16-bit PCM")
        channels, rate = source.getnchannels(), source.getframerate()
        data = source.readframes(source.getnframes())
    values = [v[0] for v in struct.iter_unpack("<h", data)]
    if channels > 1:
        values = [
            sum(values[i : i + channels]) // channels for i in range(0, len(values), channels)
        ]
    return values, rate


def normalise(samples: list[int], peak: int = SPEECH_PEAK) -> list[int]:
    loudest = max((abs(s) for s in samples), default=0)
    if loudest == 0:
        return samples
    return [int(s * peak / loudest) for s in samples]


def speech_available() -> bool:
    return shutil.which(ESPEAK) is not None


def speak(text: str, *, voice: str, speed: int = 150) -> list[int]:
    """`text` spoken by espeak-ng with `voice`, as samples at RATE (8 kHz), normalised.

    The text goes in on stdin, so whatever a manager typed is never read as an option.
    """
    program = shutil.which(ESPEAK)
    if program is None:
        raise SpeechError(f"{ESPEAK} is not installed (Debian: apt-get install {ESPEAK})")
    with tempfile.TemporaryDirectory(prefix="icenter-speech-") as tmp:
        out = Path(tmp) / "speech.wav"
        result = subprocess.run(  # noqa: S603 - fixed program, text on stdin
            [program, "-v", voice, "-s", str(speed), "--stdin", "-w", str(out)],
            input=text.encode(),
            capture_output=True,
            timeout=60,
            check=False,
        )
        if result.returncode != 0 or not out.exists():
            detail = result.stderr.decode(errors="replace").strip()
            raise SpeechError(f"{ESPEAK} -v {voice} failed ({result.returncode}): {detail}")
        samples, rate = read_wav(out)
    if not any(samples):
        raise SpeechError(f"{ESPEAK} -v {voice} wrote silence for {text!r}")
    return normalise(resample(samples, rate))


def write(path: Path, samples: list[int]) -> None:
    with wave.open(str(path), "wb") as out:
        out.setnchannels(1)
        out.setsampwidth(2)
        out.setframerate(RATE)
        out.writeframes(b"".join(struct.pack("<h", max(-32768, min(32767, s))) for s in samples))


def make_media(
    directory: Path,
    *,
    positions: int = 20,
    music_seconds: float = 12.0,
    speech: bool = False,
    language: str = "de",
) -> list[Path]:
    """Write every file into `directory` (created if missing); returns the paths.

    `speech`: the announcements spoken by espeak-ng in `language` (SpeechError without it);
    otherwise tones.
    """
    directory.mkdir(parents=True, exist_ok=True)
    loop = music(music_seconds)
    files = {"hold-music.wav": loop}
    if speech:
        voice, texts = VOICES[language], TEXTS[language]
        pause = silence(0.3)
        files["queue-waiting.wav"] = pause + speak(texts["waiting"], voice=voice) + pause + loop
        files["queue-closed.wav"] = pause + speak(texts["closed"], voice=voice) + silence(0.5)
        for position in range(1, positions + 1):
            spoken = speak(texts["position"].format(n=position), voice=voice)
            files[f"queue-position-{position}.wav"] = pause + spoken + pause + loop
    else:
        files["queue-waiting.wav"] = chime() + loop
        files["queue-closed.wav"] = sit_closed()
        for position in range(1, positions + 1):
            files[f"queue-position-{position}.wav"] = chime() + beeps(position) + loop
    written = []
    for name, samples in files.items():
        path = directory / name
        write(path, samples)
        written.append(path)
    return written


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("directory", type=Path, help="MEDIA_DIR of kamailio.cfg")
    parser.add_argument(
        "--positions",
        type=int,
        default=20,
        help="write queue-position-1 .. N (QUEUE_POSITION_FILES in kamailio.cfg)",
    )
    parser.add_argument(
        "--language", choices=sorted(TEXTS), default="de", help="language of the speech"
    )
    kind = parser.add_mutually_exclusive_group()
    kind.add_argument(
        "--speech",
        action="store_true",
        default=None,
        help=f"speak the announcements ({ESPEAK} required; default: when it is installed)",
    )
    kind.add_argument(
        "--no-speech", dest="speech", action="store_false", help="tones instead of speech"
    )
    args = parser.parse_args()
    speech = speech_available() if args.speech is None else args.speech
    try:
        paths = make_media(
            args.directory, positions=args.positions, speech=speech, language=args.language
        )
    except SpeechError as exc:
        sys.exit(f"make_media: {exc}")
    for path in paths:
        print(path)
    if speech:
        print(f"spoken announcements ({ESPEAK}, language {args.language})")
    else:
        why = "--no-speech" if args.speech is False else f"{ESPEAK} is not installed"
        print(f"tone placeholders, not speech ({why})")


if __name__ == "__main__":
    main()
