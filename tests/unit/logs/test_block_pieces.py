"""model.block_pieces: the cleaned block in pieces (no copy of its clean lines) is clean_block's text."""

import random

import pytest

from ansible_collections.plotfleet.chia.plugins.module_utils.logs import model

TEXTS = ["", "a", "\n", "a\nb", "\x1b[1ma\x1b[0m\nb", "a\nb\x1b[0m", "a\r\nb\r\nc\r\n", "a\nx\ry\nz\n",
         "a\n\x00b\n\rc\x1b[1m\nd", "a\n\n\x1b[1m\n\n", "one\ntwo\rtwo'\nthree\x00\nfour\nfive\x1b[2K\nsix"]


def _joined(pieces):
    return "".join(piece[start:end] for piece, start, end in pieces)


@pytest.mark.parametrize("text", TEXTS)
def test_pieces_are_the_clean_block(text):
    pieces = model.block_pieces(text)
    assert _joined(pieces) == model.clean_block(text)
    assert all(piece[start:start + 1] == "\n" for piece, start, end in pieces)


def test_random_dirt_anywhere():
    rnd = random.Random(15)
    for _ in range(300):
        lines = ["line %d" % i for i in range(rnd.randint(1, 30))]
        for _ in range(rnd.randint(0, 6)):
            i = rnd.randrange(len(lines))
            cut = rnd.randint(0, len(lines[i]))
            lines[i] = lines[i][:cut] + rnd.choice(("\r", "\x1b[31m", "\x00", "\x1b", "x\r")) + lines[i][cut:]
        text = "\n".join(lines)
        assert _joined(model.block_pieces(text)) == model.clean_block(text), repr(text)


def test_clean_lines_are_not_copied():
    text = "first\n" + "clean line\n" * 1000 + "\x1b[1mcoloured\x1b[0m\n" + "clean line\n" * 1000
    pieces = model.block_pieces(text)
    assert [piece is text for piece, _s, _e in pieces] == [False, True, False, True]
    assert pieces[2][0] == "\ncoloured"
