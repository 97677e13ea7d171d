"""Several LightGBM boosters as one: the trees of all, each node's value divided by their
number, so that the merged booster's margin (log-odds) and its TreeSHAP contributions are the
mean of theirs. The risk model keeps one booster text: scoring and reasons do not change."""

from __future__ import annotations

import re
from collections.abc import Sequence

# a tree's section of LightGBM's model text starts with its number on a line of its own
_TREE = re.compile(r"^Tree=\d+\n", flags=re.MULTILINE)
_END_OF_TREES = "end of trees"
_TREE_SIZES = re.compile(r"^tree_sizes=.*$", flags=re.MULTILINE)
# a tree's output is its leaf's value, which prediction and TreeSHAP read; the internal nodes'
# values are scaled too, so that the text stays consistent (`Booster.dump_model` shows them)
_VALUES = ("leaf_value=", "internal_value=")
# a linear tree's leaf is a linear model (`leaf_const`, `leaf_coeff`), not a value
_LINEAR = re.compile(r"^is_linear=1$", flags=re.MULTILINE)


def _trees(text: str) -> tuple[str, list[str], str]:
    """A model text's header, its trees' sections (without their `Tree=` line) and what
    follows them (from `end of trees`)."""
    end = text.index(_END_OF_TREES)
    header, *trees = _TREE.split(text[:end])
    return header, trees, text[end:]


def _scaled(tree: str, factor: float) -> str:
    lines = []
    for line in tree.split("\n"):
        key = next((k for k in _VALUES if line.startswith(k)), None)
        if key is not None:
            line = key + " ".join(repr(float(v) * factor) for v in line[len(key):].split())
        lines.append(line)
    return "\n".join(lines)


def average_boosters(texts: Sequence[str]) -> str:
    """The model text of one booster whose raw score is the mean of the `texts`' boosters'
    (LightGBM model texts of the same features, objective and classes, as `model_to_string`
    writes them; not linear trees). The header and parameters are the first's; feature
    importances are left out (they would be the first booster's alone)."""
    if not texts:
        raise ValueError("average_boosters: no booster to average")
    if len(texts) == 1:
        return texts[0]
    if any(_LINEAR.search(text) for text in texts):
        raise ValueError("average_boosters: linear trees cannot be averaged by their leaf values")
    header, _, tail = _trees(texts[0])
    sections = [f"Tree={i}\n" + _scaled(tree, 1.0 / len(texts))
                for i, tree in enumerate(t for text in texts for t in _trees(text)[1])]
    sizes = "tree_sizes=" + " ".join(str(len(sec.encode())) for sec in sections)
    return (_TREE_SIZES.sub(sizes, header) + "".join(sections) + _END_OF_TREES + "\n\n"
            + tail[tail.index("parameters:"):])
