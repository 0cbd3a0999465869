#!/usr/bin/env python3
"""Write the audio files kamailio.cfg plays through rtpengine (standard library only).

    python3 deploy/kamailio/make_media.py /usr/share/icenter/media

The files are placeholders made of tones, so that a fresh install (and the tests) can play
something without downloading anything. A site replaces them with real recordings under the
same names (any format rtpengine's ffmpeg reads; 8 kHz mono WAV is the safest):

- queue-position-<n>.wav (n = 1 .. --positions): "you are caller number n" followed by hold
  music; played in a loop while a caller waits at position n. Here: a chime, n short beeps,
  then music.
- queue-waiting.wav: the same without a position (position unknown or above --positions).
- queue-closed.wav: "we are closed"; played once, then Kamailio ends the call (480). At most
  30 seconds (Kamailio's async timer limit).
- hold-music.wav: music alone.
"""

from __future__ import annotations

import argparse
import math
import struct
import wave
from pathlib import Path

RATE = 8000
AMPLITUDE = 9000


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


def write(path: Path, samples: list[int]) -> None:
    with wave.open(str(path), "wb") as out:
        out.setnchannels(1)
        out.setsampwidth(2)
        out.setframerate(RATE)
        out.writeframes(b"".join(struct.pack("<h", max(-32768, min(32767, s))) for s in samples))


def make_media(directory: Path, *, positions: int = 20, music_seconds: float = 12.0) -> list[Path]:
    """Write every file into `directory` (created if missing); returns the paths."""
    directory.mkdir(parents=True, exist_ok=True)
    loop = music(music_seconds)
    files = {
        "queue-waiting.wav": chime() + loop,
        "queue-closed.wav": sit_closed(),
        "hold-music.wav": loop,
    }
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
    args = parser.parse_args()
    for path in make_media(args.directory, positions=args.positions):
        print(path)


if __name__ == "__main__":
    main()
