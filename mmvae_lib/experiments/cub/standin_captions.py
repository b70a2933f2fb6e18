"""Captions for the stand-in birds, written from their attributes the way CUB's annotators write.

Ten captions per image (:func:`write_captions`), each by an imagined annotator who mentions 1 to 5 of the
image's attributes (salient ones more often: wings, bill, crown, belly, breast), in a random order, in one
of several sentence frames ("this bird has ...", "a small bird with ...", "the crown is red and ...", a bare
list, ...), with synonyms for parts, colours, shapes, sizes and verbs ("belly" / "abdomen" / "underbelly",
"grey" / "gray", "beak" / "bill", "has" / "features" / "sports"; the usual word most of the time), colour
modifiers and blends ("light",
"dark", "yellowish"), now and then the setting ("perched on a branch"), and annotators' noise: a colour
named as a neighbouring one (4 % of colours) and typing slips (a letter dropped, doubled or swapped in
0.4 % of words; real CUB captions have them, and the frequent ones enter the vocabulary).

Every caption is one sentence ending in " ." and lowercase. What it says is true of its image apart from
that noise; what it leaves out is the annotator's choice, so the ten captions of an image differ as CUB's
do. Randomness: a ``random.Random`` passed in (Python's generator: the same seed gives the same captions on
every platform).
"""
from __future__ import annotations

import random
from itertools import accumulate

from torch import Tensor

from mmvae_lib.experiments.cub.standin import ATTRIBUTES, SETTINGS

CAPTIONS_PER_IMAGE = 10
NOISY_COLOUR, TYPO = 0.04, 0.004
USUAL = 0.8          # how often an annotator uses the usual word of a list (its first) rather than a synonym

COLOUR_WORDS = {
    "blue": ("blue", "bluish", "azure", "cobalt", "navy", "indigo"),
    "brown": ("brown", "brownish", "chocolate", "coffee colored", "mahogany"),
    "iridescent": ("iridescent", "shiny", "glossy", "metallic", "shimmering", "glistening"),
    "purple": ("purple", "violet", "purplish", "lavender"),
    "rufous": ("rufous", "rust colored", "reddish brown", "chestnut", "cinnamon", "russet", "auburn"),
    "grey": ("grey", "gray", "slate", "grayish", "greyish", "ash colored", "silver"),
    "yellow": ("yellow", "golden", "yellowish", "lemon", "mustard"),
    "olive": ("olive", "olive green", "greenish", "khaki", "olive colored"),
    "green": ("green", "lime", "emerald", "greenish"),
    "pink": ("pink", "rosy", "pinkish", "salmon", "peach"),
    "orange": ("orange", "orangish", "orangey", "tangerine", "amber"),
    "black": ("black", "dark", "jet black", "blackish", "ebony"),
    "white": ("white", "snowy", "whitish", "ivory", "pure white"),
    "red": ("red", "crimson", "scarlet", "reddish", "ruby", "maroon"),
    "buff": ("buff", "tan", "beige", "cream", "sandy", "fawn", "light brown"),
}
MODIFIERS = ("light", "dark", "pale", "bright", "deep", "dull", "vibrant", "vivid", "soft", "rich", "muted",
             "faded", "dusky", "brilliant")
SIMILAR = {"grey": "white", "white": "grey", "brown": "buff", "buff": "brown", "black": "grey", "olive": "green",
           "green": "olive", "rufous": "orange", "orange": "rufous", "yellow": "orange", "red": "orange",
           "blue": "grey", "purple": "blue", "pink": "red", "iridescent": "black"}
PART_WORDS = {  # (word, weight); a word ending in s is plural unless listed in SINGULAR_S
    "crown": (("crown", 6), ("head", 4), ("cap", 1), ("top of the head", 1), ("crown feathers", 1), ("forehead", 1),
              ("crest", 0.5), ("head feathers", 0.5), ("top of its head", 0.5), ("pileum", 0.2)),
    "throat": (("throat", 6), ("chin", 1.5), ("neck", 2), ("throat area", 1), ("gorget", 0.3), ("chin area", 0.5),
               ("foreneck", 0.3), ("malar area", 0.3), ("cheek patch", 0.5), ("cheeks", 0.5)),
    "breast": (("breast", 6), ("chest", 4), ("chest area", 1), ("breast feathers", 1), ("upper breast", 0.5),
               ("bosom", 0.2), ("front", 0.5)),
    "belly": (("belly", 7), ("abdomen", 2), ("underbelly", 1), ("stomach", 1), ("underside", 1), ("abdomen area", 1),
              ("underparts", 1), ("vent", 0.4), ("flanks", 0.6), ("sides", 0.6), ("lower belly", 0.5)),
    "back": (("back", 6), ("upperparts", 1), ("mantle", 0.6), ("nape", 2), ("body", 2.5), ("rump", 0.6),
             ("scapulars", 0.4), ("back feathers", 0.5), ("upper body", 0.5), ("plumage", 0.8)),
    "wing": (("wings", 9), ("wing feathers", 2), ("primaries", 1), ("secondaries", 1), ("coverts", 1), ("wing", 1),
             ("wingtips", 0.5), ("flight feathers", 0.5), ("wing coverts", 0.4), ("tertials", 0.3), ("remiges", 0.2)),
    "tail": (("tail", 7), ("tail feathers", 2), ("rectrices", 1), ("retrices", 0.8), ("tail end", 0.4),
             ("undertail coverts", 0.3), ("tail coverts", 0.3)),
    "bill": (("beak", 6), ("bill", 5)),
    "leg": (("feet", 3), ("legs", 2.5), ("tarsus", 1), ("feet and legs", 1), ("claws", 0.6), ("tarsi", 0.4),
            ("talons", 0.4), ("toes", 0.4), ("leg", 0.5)),
    "eye": (("eyes", 4), ("eye", 2.5), ("eyeballs", 0.5), ("iris", 0.5), ("eye color", 0.3)),
}
SINGULAR_S = {"iris", "tarsus", "chest area", "abdomen area", "throat area", "chin area", "malar area", "plumage"}
PLURAL_OTHER = {"feet", "feet and legs", "tarsi"}
SIZE_WORDS = {"small": ("small", "tiny", "little", "petite", "smallish", "miniature", "compact"),
              "medium": ("medium sized", "medium-sized", "average sized", "medium", "mid-sized", "moderate sized"),
              "large": ("large", "big", "huge", "larger", "stout", "hefty", "sizable")}
BILL_SHAPE_WORDS = {"cone": ("cone-shaped", "conical", "thick", "stubby", "stout", "seed-eating"),
                    "pointed": ("pointed", "pointy", "sharp", "sharp pointed", "tapered"),
                    "hooked": ("hooked", "curved", "hook-shaped", "raptor-like"),
                    "curved": ("curved", "downcurved", "curving", "decurved", "arched"),
                    "needle": ("thin", "needle-like", "slender", "skinny", "narrow", "fine"),
                    "flat": ("flat", "wide", "broad", "spatulate", "flattened", "duck-like")}
BILL_LENGTH_WORDS = {"short": ("short", "small", "tiny", "stubby"),
                     "medium": ("medium", "medium length", "average", "medium-sized", "moderate"),
                     "long": ("long", "large", "elongated", "lengthy")}
SETTING_PHRASES = {
    "branch": ("perched on a branch", "sitting on a branch", "on a tree branch", "perched on a twig",
               "resting on a limb", "sitting in a tree"),
    "sky": ("flying in the sky", "in flight", "soaring through the air", "flying overhead", "gliding in the sky"),
    "grass": ("standing in the grass", "in the grass", "on a grassy field", "hiding in the grass", "in a meadow"),
    "water": ("swimming in the water", "floating on the water", "near the water", "on a lake", "wading in a pond"),
    "ground": ("standing on the ground", "on the ground", "walking on the dirt", "on a rock", "on the sand"),
}
HAS = ("has", "features", "sports", "displays", "shows", "possesses", "is adorned with")
WITH = ("with", "having", "that has", "featuring", "which has")
ALSO = ("and", "as well as", "along with", "plus")
OPENERS = ("this bird", "the bird", "this particular bird", "this", "the small bird",
           "this species", "this animal")
# how often an annotator mentions each group (patterns only when there is one)
SALIENCE = {"wing": 3.0, "bill": 3.0, "crown": 2.5, "belly": 2.5, "breast": 2.0, "back": 1.0, "throat": 1.2,
            "tail": 1.2, "leg": 0.9, "eye": 0.9, "wing_pattern": 1.5, "breast_pattern": 1.2, "head_pattern": 1.5,
            "tail_shape": 0.6}
COLOUR_PARTS = ("crown", "throat", "breast", "belly", "back", "wing", "tail", "bill", "leg", "eye")
N_MENTIONS, N_MENTION_WEIGHTS = (1, 2, 3, 4, 5), (0.08, 0.32, 0.34, 0.18, 0.08)


def _a(word: str) -> str:
    return ("an " if word[0] in "aeiou" else "a ") + word


def _plural(part: str) -> bool:
    return part in PLURAL_OTHER or (part.endswith("s") and part not in SINGULAR_S)


class _Writer:
    """One annotator population; draws from ``rng``."""

    def __init__(self, rng: random.Random):
        self.rng = rng
        self._cum = {g: (tuple(w for w, _ in pairs), list(accumulate(p for _, p in pairs)))
                     for g, pairs in PART_WORDS.items()}

    def pick(self, options):
        return options[int(self.rng.random() * len(options))]

    def word(self, options):
        """The usual word (the first) with probability :data:`USUAL`, else one of the others."""
        if len(options) == 1 or self.rng.random() < USUAL:
            return options[0]
        return options[1 + int(self.rng.random() * (len(options) - 1))]

    def colour(self, name: str) -> str:
        if self.rng.random() < NOISY_COLOUR:
            name = SIMILAR[name]
        word = self.word(COLOUR_WORDS[name])
        if self.rng.random() < 0.12 and name not in ("black", "white"):
            word = f"{self.pick(MODIFIERS)} {word}"
        return word

    def part(self, group: str) -> str:
        words, cum = self._cum[group]
        return self.rng.choices(words, cum_weights=cum)[0]

    def colour_phrase(self, group: str, value: str) -> str:
        """A noun phrase naming a part's colour: "a red crown", "black wings", "a belly that is white"."""
        part, colour = self.part(group), self.colour(value)
        plural, r = _plural(part), self.rng.random()
        if r < 0.10:
            return f"{'' if plural else 'a '}{part} that {'are' if plural else 'is'} {colour}"
        if r < 0.17:
            return f"{colour} colored {part}" if plural else _a(f"{colour} colored {part}")
        return f"{colour} {part}" if plural else _a(f"{colour} {part}")

    def bill_phrase(self, a: dict) -> str:
        words = [self.word(BILL_LENGTH_WORDS[a["bill_length"]]), self.word(BILL_SHAPE_WORDS[a["bill_shape"]]),
                 self.colour(a["bill"])]
        keep = [w for w in words if self.rng.random() < 0.55] or [self.pick(words)]
        return _a(f"{' '.join(keep)} {self.part('bill')}")

    def pattern_phrase(self, group: str, a: dict) -> str:
        accent, value = self.colour(a["accent"]), a[group]
        if group == "wing_pattern":
            options = {"spotted": (f"{accent} spots on its wings", "spotted wings", f"wings with {accent} spots",
                                   "speckled wings", f"{accent} dots on the wings"),
                       "striped": (f"{accent} wingbars", "wingbars", "striped wings", f"{accent} wing bars",
                                   f"two {accent} bars on the wings"),
                       "multi-colored": ("multicolored wings", f"{accent} wing tips", f"{accent} primaries",
                                         f"wings tipped in {accent}")}
        elif group == "breast_pattern":
            options = {"spotted": ("a spotted breast", "brown spots on the breast", "a speckled chest", "a mottled breast"),
                       "striped": ("a streaked breast", "stripes on its breast", "a striped chest", "streaks on the chest")}
        elif group == "head_pattern":
            options = {"eyebrow": (_a(f"{accent} eyebrow"), _a(f"{accent} superciliary"), _a(f"{accent} stripe above the eye"),
                                   _a(f"{accent} eyebrow stripe")),
                       "eyering": (_a(f"{accent} eyering"), _a(f"{accent} eye ring"), "a ring around the eye",
                                   _a(f"{accent} ring around its eye")),
                       "crested": ("a crest", _a(f"{self.colour(a['crown'])} crest"), "a crested head", "a pointed crest"),
                       "masked": ("a black mask", "a black stripe through the eye", "a black eyeline", "a dark eye stripe")}
        else:
            options = {"forked": ("a forked tail", "a notched tail", "a split tail"),
                       "long": ("a long tail", "long tail feathers", "an elongated tail"),
                       "pointed": ("a pointed tail", "a pointy tail"), "rounded": ("a rounded tail", "a short tail")}
        return self.pick(options[value])

    def phrase(self, group: str, a: dict) -> str:
        if group == "bill":
            return self.bill_phrase(a)
        if group in COLOUR_PARTS:
            return self.colour_phrase(group, a[group])
        return self.pattern_phrase(group, a)

    def listing(self, phrases: list[str]) -> str:
        if len(phrases) == 1:
            return phrases[0]
        joiner = " , and " if self.rng.random() < 0.3 else f" {self.word(ALSO)} "
        return " , ".join(phrases[:-1]) + joiner + phrases[-1]

    def mentions(self, a: dict) -> list[str]:
        groups = [g for g in SALIENCE if not (g.endswith("pattern") and a[g] in ("solid", "plain"))
                  and not (g == "tail_shape" and a[g] == "rounded")]
        k = min(len(groups), self.rng.choices(N_MENTIONS, N_MENTION_WEIGHTS)[0])
        keys = sorted(groups, key=lambda g: self.rng.random() ** (1 / SALIENCE[g]), reverse=True)   # weighted, no repeats
        return keys[:k]

    def caption(self, a: dict) -> str:
        chosen = self.mentions(a)
        phrases = [self.phrase(g, a) for g in chosen]
        size, main, opener = self.word(SIZE_WORDS[a["size"]]), self.colour(a["back"]), self.word(OPENERS)
        frame = int(self.rng.random() * 9)
        if frame == 0:
            text = f"{opener} {self.word(HAS)} {self.listing(phrases)}"
        elif frame == 1:
            text = f"{_a(size)} bird {self.word(WITH)} {self.listing(phrases)}"
        elif frame == 2:
            text = f"this {size} bird {self.word(HAS)} {self.listing(phrases)}"
        elif frame == 3:
            text = self.listing(phrases)
        elif frame == 4:
            text = f"this is {_a(size)} {main} bird {self.word(WITH)} {self.listing(phrases)}"
        elif frame == 5:
            text = f"{opener} is {main} {self.word(WITH)} {self.listing(phrases)}"
        elif frame == 6:
            text = f"{_a(main)} bird {self.word(WITH)} {self.listing(phrases)}"
        elif frame == 7:
            text = f"this {size} bird is mostly {main} and {self.word(HAS)} {self.listing(phrases)}"
        else:
            colour_groups = [g for g in chosen if g in COLOUR_PARTS and g != "bill"][:2]
            clauses = []
            for g in colour_groups:
                part = self.part(g)
                clauses.append(f"the {part} {'are' if _plural(part) else 'is'} {self.colour(a[g])}")
            rest = [p for g, p in zip(chosen, phrases) if g not in colour_groups]
            text = " and ".join(clauses) if clauses else f"{_a(size)} bird"
            if rest:
                text += f" , {self.word(WITH)} {self.listing(rest)}" if clauses else f" {self.word(WITH)} {self.listing(rest)}"
        if self.rng.random() < 0.12:
            text += f" , {self.pick(SETTING_PHRASES[a['setting']])}"
        return " ".join(self.slip(w) for w in text.split()) + " ."

    def slip(self, word: str) -> str:
        """A typing slip in ``word`` with probability :data:`TYPO`: a letter dropped, doubled or two swapped."""
        if len(word) < 4 or self.rng.random() >= TYPO:
            return word
        i, kind = 1 + int(self.rng.random() * (len(word) - 2)), int(self.rng.random() * 3)
        if kind == 0:
            return word[:i] + word[i + 1:]
        if kind == 1:
            return word[:i] + word[i] + word[i:]
        return word[:i] + word[i + 1] + word[i] + word[i + 2:]


def write_captions(attrs: dict[str, Tensor], rng: random.Random,
                   per_image: int = CAPTIONS_PER_IMAGE) -> list[list[str]]:
    """``per_image`` captions for each image whose attributes are ``attrs`` (value ids ``(N,)`` per group of
    :data:`ATTRIBUTES`, and ``setting``): a list of N lists of strings."""
    columns = {g: [values[i] for i in attrs[g].tolist()] for g, values in ATTRIBUTES.items()}
    columns["setting"] = [SETTINGS[i] for i in attrs["setting"].tolist()]
    writer = _Writer(rng)
    return [[writer.caption({g: column[i] for g, column in columns.items()}) for _ in range(per_image)]
            for i in range(len(columns["size"]))]
