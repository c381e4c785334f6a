"""The tag caption format of the wav_diff seed, one caption per spectrogram slice.

    format_tag_caption(moods=["Dark"], genres=["Rock"], instruments=["Electric Guitar"], textures=["heavy"], bpm=120)
    -> "A Dark Rock track featuring Electric Guitar. Characterized as heavy. 120 BPM."

With an artist and/or title the caption starts with ``"In the style of <artist> - <title>. "`` (either part
alone when only one is given). Lists are joined as ``"A"``, ``"A and B"``, ``"A, B and C"``; empty parts are left
out (no instruments: no ``"featuring ..."``; no textures: no ``"Characterized as ..."``; no tempo: no BPM).
"""

from __future__ import annotations

from typing import Optional, Sequence


def join_words(words: Sequence[str]) -> str:
    """``[]`` -> ``""``, ``["A"]`` -> ``"A"``, ``["A", "B"]`` -> ``"A and B"``,
    ``["A", "B", "C"]`` -> ``"A, B and C"``."""
    words = [word for word in words if word]
    if len(words) <= 1:
        return "".join(words)
    return ", ".join(words[:-1]) + " and " + words[-1]


def style_prefix(artist: Optional[str] = None, title: Optional[str] = None) -> str:
    """``"In the style of <artist> - <title>. "`` (or of whichever is given); ``""`` when neither is."""
    named = " - ".join(part.strip() for part in (artist, title) if part and part.strip())
    return f"In the style of {named}. " if named else ""


def format_tag_caption(
    genres: Sequence[str] = (),
    moods: Sequence[str] = (),
    instruments: Sequence[str] = (),
    textures: Sequence[str] = (),
    bpm: Optional[float] = None,
    artist: Optional[str] = None,
    title: Optional[str] = None,
) -> str:
    """The seed's caption: ``"[In the style of A - T. ]A <moods> <genres> track[ featuring <instruments>].
    [Characterized as <textures>. ][<bpm> BPM.]"`` (BPM rounded to an integer)."""
    description = " ".join(part for part in (join_words(moods), join_words(genres), "track") if part)
    article = "An" if description[:1].lower() in "aeiou" else "A"
    sentences = [f"{article} {description}" + (f" featuring {join_words(instruments)}" if instruments else "") + "."]
    if textures:
        sentences.append(f"Characterized as {join_words(textures)}.")
    if bpm is not None:
        sentences.append(f"{int(round(bpm))} BPM.")
    return style_prefix(artist, title) + " ".join(sentences)
