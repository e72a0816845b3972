"""The categories a system is filed under, kept as data: the words the press of each catalog
language uses for that class of weapon, and the *standard card*, the facts a reference gives
for a system of that kind (what CSIS Missile Threat or an encyclopedia's infobox shows).

The schema takes the category names from here; the build writes the whole vocabulary to the
``categories`` and ``card_facts`` tables, so the site reads it without importing the build;
``refdb report`` and the entry page measure each entry against its card. Nothing here imports
the rest of refdb.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache


@dataclass(frozen=True)
class CardFact:
    """One fact of a standard card: the properties that give it (the first is the usual one;
    a warhead's mass and its description count once), and whether it heads the entry page."""

    label: str
    properties: tuple[str, ...]
    headline: bool = False


def _fact(label: str, *properties: str, headline: bool = False) -> CardFact:
    return CardFact(label, properties, headline)


AIRCRAFT_CARD = (
    _fact("maximum speed", "max_speed", headline=True),
    _fact("range", "max_range", "ferry_range", "combat_radius", headline=True),
    _fact("maximum take-off weight", "max_takeoff_weight", headline=True),
    _fact("entry into service", "service_entry", headline=True),
    _fact("crew", "crew"),
    _fact("length", "length"),
    _fact("wingspan", "wingspan"),
    _fact("engines", "engines"),
    _fact("service ceiling", "service_ceiling"),
    _fact("first flight", "first_flight"),
    _fact("number built", "number_built"),
    _fact("armament", "armament"),
)
MISSILE_CARD = (
    _fact("range", "max_range", headline=True),
    _fact("speed", "max_speed", "cruise_speed", headline=True),
    _fact("warhead", "warhead", "warhead_mass", headline=True),
    _fact("launch weight", "launch_weight", headline=True),
    _fact("entry into service", "service_entry", headline=True),
    _fact("length", "length"),
    _fact("propulsion", "propulsion", "engines"),
    _fact("guidance", "guidance"),
)
DRONE_CARD = (
    _fact("range", "max_range", headline=True),
    _fact("speed", "max_speed", "cruise_speed", headline=True),
    _fact("warhead", "warhead", "warhead_mass", headline=True),
    _fact("launch weight", "launch_weight", headline=True),
    _fact("first use", "service_entry", "first_combat_use", headline=True),
    _fact("length", "length"),
    _fact("wingspan", "wingspan"),
    _fact("propulsion", "propulsion", "engines"),
    _fact("guidance", "guidance"),
)
GLIDE_BOMB_CARD = (
    _fact("range", "max_range", headline=True),
    _fact("weight", "launch_weight", headline=True),
    _fact("warhead", "warhead", "warhead_mass", headline=True),
    _fact("first use", "service_entry", "first_combat_use", headline=True),
    _fact("guidance", "guidance"),
    _fact("length", "length"),
)
SHIP_CARD = (
    _fact("displacement", "displacement_full", "displacement_standard", headline=True),
    _fact("maximum speed", "max_speed", headline=True),
    _fact("length", "length", headline=True),
    _fact("commissioning", "commissioned", "service_entry", headline=True),
    _fact("crew", "crew", headline=True),
    _fact("beam", "beam"),
    _fact("draught", "draught"),
    _fact("propulsion", "propulsion", "engines"),
    _fact("armament", "armament"),
)


@dataclass(frozen=True)
class Category:
    """A category: its label, the kind of card it takes, the words the press uses for it in
    each catalog language (``word*`` takes any ending; a space between words takes any
    spacing), and the broader categories whose words fit it too (a frigate is a warship)."""

    label: str
    card: tuple[CardFact, ...]
    words: dict[str, tuple[str, ...]]
    broader: tuple[str, ...] = ()
    of_any_narrower: bool = False  # a class of ships may be of any ship category


# A word that fits several categories (every bomber is a "bomber") is listed under the
# broadest one and reached through ``broader``.
CATEGORIES: dict[str, Category] = {
    "bomber": Category(
        "bomber",
        AIRCRAFT_CARD,
        {
            "en": ("bomber*",),
            "fr": ("bombardier*",),
            "de": ("bomber", "bombern", "bombers"),
            "ru": ("бомбардировщик*", "ракетоносец", "ракетоносц*"),
            "uk": ("бомбардувальник*", "ракетоносець", "ракетоносц*", "ракетоносі*"),
            "pl": ("bombowiec", "bombowc*"),
            "es": ("bombardero*",),
            "it": ("bombardier*",),
        },
    ),
    "strategic-bomber": Category(
        "strategic bomber",
        AIRCRAFT_CARD,
        {
            "en": ("strategic bomber*",),
            "fr": ("bombardier* stratégique*",),
            "de": ("langstreckenbomber*", "strategische* bomber*"),
            "ru": (
                "стратегическ* бомбардировщик*",
                "стратегическ* ракетоносец",
                "стратегическ* ракетоносц*",
            ),
            "uk": (
                "стратегічн* бомбардувальник*",
                "стратегічн* ракетоносець",
                "стратегічн* ракетоносц*",
                "стратегічн* ракетоносі*",
            ),
            "pl": ("bombowiec strategiczny", "bombowc* strategiczn*"),
            "es": ("bombardero* estratégico*",),
            "it": ("bombardier* strategic*",),
        },
        broader=("bomber",),
    ),
    "fighter-bomber": Category(
        "fighter-bomber",
        AIRCRAFT_CARD,
        {
            "en": ("fighter-bomber*", "strike fighter*"),
            "fr": ("chasseur*-bombardier*",),
            "de": ("jagdbomber*",),
            "ru": ("истребител*-бомбардировщик*", "фронтов* бомбардировщик*"),
            "uk": ("винищувач*-бомбардувальник*", "фронтов* бомбардувальник*"),
            "pl": ("myśliwsko-bombow*", "bombowiec frontowy", "bombowc* frontow*"),
            "es": ("cazabombardero*",),
            "it": ("cacciabombardier*",),
        },
        broader=("bomber", "fighter"),
    ),
    "fighter": Category(
        "fighter",
        AIRCRAFT_CARD,
        {
            "en": ("fighter*", "fighter jet*"),
            "fr": ("chasseur*", "avion* de chasse", "avion* de combat"),
            "de": ("kampfjet*", "kampfflugzeug*", "jagdflugzeug*"),
            "ru": ("истребител*",),
            "uk": ("винищувач*",),
            "pl": ("myśliwiec", "myśliwc*"),
            "es": ("caza", "cazas", "avión de combate", "aviones de combate"),
            "it": ("caccia", "aere* da combattimento"),
        },
    ),
    "interceptor": Category(
        "interceptor",
        AIRCRAFT_CARD,
        {
            "en": ("interceptor*",),
            "fr": ("intercepteur*",),
            "de": ("abfangjäger*",),
            "ru": ("перехватчик*",),
            "uk": ("перехоплювач*",),
            "pl": ("myśliwiec przechwytujący", "myśliwc* przechwytując*"),
            "es": ("interceptor", "interceptores"),
            "it": ("intercettor*",),
        },
        broader=("fighter",),
    ),
    "attack-aircraft": Category(
        "attack aircraft",
        AIRCRAFT_CARD,
        {
            "en": ("attack aircraft", "ground-attack aircraft"),
            "fr": ("avion* d'attaque", "avion* d'appui"),
            "de": ("erdkampfflugzeug*",),
            "ru": ("штурмовик*",),
            "uk": ("штурмовик*",),
            "pl": ("samolot* szturmow*",),
            "es": ("avión de ataque", "aviones de ataque"),
            "it": ("aere* d'attacco",),
        },
    ),
    "cruise-missile": Category(
        "cruise missile",
        MISSILE_CARD,
        {
            "en": ("cruise missile*",),
            "fr": ("missile* de croisière",),
            "de": ("marschflugkörper*",),
            "ru": ("крылат* ракет*",),
            "uk": ("крилат* ракет*",),
            "pl": ("pocisk* manewrując*", "rakiet* manewrując*", "pocisk* samosterując*"),
            "es": ("misil* de crucero",),
            "it": ("missil* da crociera",),
        },
    ),
    "anti-ship-missile": Category(
        "anti-ship missile",
        MISSILE_CARD,
        {
            "en": ("anti-ship missile*", "antiship missile*"),
            "fr": ("missile* antinavire*", "missile* anti-navire*"),
            "de": ("antischiffsrakete*", "seezielflugkörper*", "anti-schiffs-rakete*"),
            "ru": ("противокорабельн* ракет*",),
            "uk": ("протикорабельн* ракет*",),
            "pl": ("pocisk* przeciwokrętow*", "rakiet* przeciwokrętow*"),
            "es": ("misil* antibuque*",),
            "it": ("missil* antinave",),
        },
        broader=("cruise-missile",),
    ),
    "ballistic-missile": Category(
        "ballistic missile",
        MISSILE_CARD,
        {
            "en": ("ballistic missile*",),
            "fr": ("missile* balistique*",),
            "de": ("ballistische* rakete*",),
            "ru": ("баллистическ* ракет*",),
            "uk": ("балістичн* ракет*",),
            "pl": ("pocisk* balistyczn*", "rakiet* balistyczn*"),
            "es": ("misil* balístico*",),
            "it": ("missil* balistic*",),
        },
    ),
    "short-range-ballistic-missile": Category(
        "short-range ballistic missile",
        MISSILE_CARD,
        {
            "en": ("short-range ballistic missile*", "tactical ballistic missile*"),
            "fr": ("missile* balistique* de courte portée",),
            "de": ("kurzstreckenrakete*",),
            "ru": ("оперативно-тактическ* ракет*", "оперативно-тактическ* комплекс*"),
            "uk": ("оперативно-тактичн* ракет*", "оперативно-тактичн* комплекс*"),
            "pl": ("pocisk* balistyczn* krótkiego zasięgu",),
            "es": ("misil* balístico* de corto alcance",),
            "it": ("missil* balistic* a corto raggio",),
        },
        broader=("ballistic-missile",),
    ),
    "intermediate-range-ballistic-missile": Category(
        "intermediate-range ballistic missile",
        MISSILE_CARD,
        {
            "en": ("intermediate-range ballistic missile*", "intermediate-range missile*"),
            "fr": (
                "missile* balistique* de portée intermédiaire",
                "missile* de portée intermédiaire",
            ),
            "de": ("mittelstreckenrakete*",),
            "ru": ("ракет* средней дальности",),
            "uk": ("ракет* середньої дальності",),
            "pl": ("pocisk* średniego zasięgu", "rakiet* średniego zasięgu"),
            "es": ("misil* de alcance intermedio",),
            "it": ("missil* a raggio intermedio",),
        },
        broader=("ballistic-missile",),
    ),
    "air-launched-ballistic-missile": Category(
        "air-launched ballistic missile",
        MISSILE_CARD,
        {
            "en": ("air-launched ballistic missile*", "aeroballistic missile*"),
            "fr": ("missile* aérobalistique*",),
            "de": ("aeroballistische* rakete*",),
            "ru": ("аэробаллистическ* ракет*",),
            "uk": ("аеробалістичн* ракет*",),
            "pl": ("pocisk* aerobalistyczn*",),
            "es": ("misil* aerobalístico*",),
            "it": ("missil* aerobalistic*",),
        },
        broader=("ballistic-missile",),
    ),
    "surface-to-air-missile": Category(
        "surface-to-air missile",
        MISSILE_CARD,
        {
            "en": ("surface-to-air missile*", "air defence system*", "air defense system*"),
            "fr": (
                "missile* sol-air",
                "système* de défense antiaérienne",
                "système* de défense aérienne",
            ),
            "de": ("flugabwehrrakete*", "flugabwehrsystem*", "luftabwehrsystem*"),
            "ru": ("зенитн* ракет*", "зенитн* ракетн* комплекс*"),
            "uk": ("зенітн* ракет*", "зенітн* ракетн* комплекс*"),
            "pl": ("pocisk* przeciwlotnicz*", "zestaw* przeciwlotnicz*"),
            "es": ("misil* tierra-aire", "sistema* antiaéreo*"),
            "it": ("missil* terra-aria", "sistem* antiaere*"),
        },
    ),
    "glide-bomb": Category(
        "glide bomb",
        GLIDE_BOMB_CARD,
        {
            "en": ("glide bomb*", "guided bomb*"),
            "fr": ("bombe* planante*", "bombe* guidée*"),
            "de": ("gleitbombe*", "lenkbombe*"),
            "ru": ("планирующ* бомб*", "управляем* авиабомб*", "корректируем* авиабомб*"),
            "uk": ("керован* авіабомб*", "кероване авіабомб*", "плануюч* бомб*"),
            "pl": ("bomb* szybując*", "bomb* kierowan*"),
            "es": ("bomba* planeadora*", "bomba* guiada*"),
            "it": ("bomb* planant*", "bomb* guidat*"),
        },
    ),
    "one-way-attack-drone": Category(
        "one-way attack drone",
        DRONE_CARD,
        {
            "en": ("drone*", "kamikaze drone*", "one-way attack drone*"),
            "fr": ("drone*", "drone* kamikaze*"),
            "de": ("drohne*", "kamikazedrohne*", "kamikaze-drohne*"),
            "ru": ("дрон*", "беспилотник*", "бпла"),
            "uk": ("дрон*", "безпілотник*", "бпла"),
            "pl": ("dron", "drony", "dronów", "dronami", "dronem", "drona"),
            "es": ("dron", "drones"),
            "it": ("drone", "droni"),
        },
    ),
    "loitering-munition": Category(
        "loitering munition",
        DRONE_CARD,
        {
            "en": ("loitering munition*",),
            "fr": ("munition* rôdeuse*", "munition* téléopérée*"),
            "de": ("loitering munition", "herumlungernde* munition"),
            "ru": ("барражирующ* боеприпас*",),
            "uk": ("баражуюч* боєприпас*",),
            "pl": ("amunicj* krążąc*",),
            "es": ("munición merodeadora", "municiones merodeadoras"),
            "it": ("munizion* circuitant*",),
        },
        broader=("one-way-attack-drone",),
    ),
    "ship-class": Category(
        "ship class",
        SHIP_CARD,
        {
            "en": ("warship*",),
            "fr": ("navire* de guerre", "bâtiment* de guerre"),
            "de": ("kriegsschiff*",),
            "ru": ("военн* корабл*", "боев* корабл*"),
            "uk": ("військов* корабл*", "бойов* корабл*"),
            "pl": ("okręt* wojenn*",),
            "es": ("buque* de guerra",),
            "it": ("nav* da guerra",),
        },
        of_any_narrower=True,
    ),
    "destroyer": Category(
        "destroyer",
        SHIP_CARD,
        {
            "en": ("destroyer*",),
            "fr": ("destroyer*", "contre-torpilleur*"),
            "de": ("zerstörer*",),
            "ru": ("эсминец", "эсминц*", "эскадренн* миноносец", "эскадренн* миноносц*"),
            "uk": ("есмінець", "есмінц*", "ескадрен* міноносець", "ескадрен* міноносц*"),
            "pl": ("niszczyciel*",),
            "es": ("destructor*",),
            "it": ("cacciatorpedinier*",),
        },
        broader=("ship-class",),
    ),
    "frigate": Category(
        "frigate",
        SHIP_CARD,
        {
            "en": ("frigate*",),
            "fr": ("frégate*",),
            "de": ("fregatte*",),
            "ru": ("фрегат*",),
            "uk": ("фрегат*",),
            "pl": ("fregat*",),
            "es": ("fragata*",),
            "it": ("fregat*",),
        },
        broader=("ship-class",),
    ),
    "corvette": Category(
        "corvette",
        SHIP_CARD,
        {
            "en": ("corvette*",),
            "fr": ("corvette*",),
            "de": ("korvette*",),
            "ru": ("корвет*",),
            "uk": ("корвет*",),
            "pl": ("korwet*",),
            "es": ("corbeta*",),
            "it": ("corvett*",),
        },
        broader=("ship-class",),
    ),
    "submarine": Category(
        "submarine",
        SHIP_CARD,
        {
            "en": ("submarine*",),
            "fr": ("sous-marin*",),
            "de": ("u-boot*",),
            "ru": ("подводн* лодк*", "подлодк*"),
            "uk": ("підводн* човн*", "підводний човен"),
            "pl": ("okręt* podwodn*",),
            "es": ("submarino*",),
            "it": ("sottomarin*",),
        },
        broader=("ship-class",),
    ),
}


def fits(category: str) -> set[str]:
    """The categories whose words may name a system of ``category``: its own and those of the
    categories broader than it, transitively (a strategic bomber is also a "bomber"); for a
    class of ships, those of every ship category too."""
    found = _broader(category)
    if CATEGORIES[category].of_any_narrower:
        found |= {name for name in CATEGORIES if category in _broader(name)}
    return found


def _broader(category: str) -> set[str]:
    found, todo = set(), [category]
    while todo:
        name = todo.pop()
        if name not in found:
            found.add(name)
            todo.extend(CATEGORIES[name].broader)
    return found


def card_gaps(category: str, properties: set[str]) -> list[CardFact]:
    """The facts of ``category``'s standard card that none of ``properties`` gives."""
    return [fact for fact in CATEGORIES[category].card if not properties & set(fact.properties)]


def family_gaps(category: str, own: set[str], versions: list[set[str]]) -> list[CardFact]:
    """The facts of a family's card that neither the family (``own`` properties) nor every
    one of its ``versions`` (each the properties of one version's entry) gives: a fact only
    one version gives is not yet the family's."""
    return [
        fact
        for fact in card_gaps(category, own)
        if not every_version_gives(versions, set(fact.properties))
    ]


def every_version_gives(versions: list[set[str]], properties: set[str]) -> bool:
    """Whether a family's ``versions`` (each the properties one version gives) all give one
    of ``properties``: what makes a fact the family's (the entry page asks it too)."""
    return bool(versions) and all(given & properties for given in versions)


# Words the press puts before or after any weapon's name, by language (``word*`` takes any
# ending): what tells a name that is also an ordinary word ("Club", "Kodiak") from the word.
CLASS_WORDS: dict[str, tuple[str, ...]] = {
    "en": ("missile*", "system*", "drone*", "bomber*", "launcher*", "complex*", "warship*"),
    "fr": ("missile*", "système*", "drone*", "bombardier*", "complexe*", "frégate*", "navire*"),
    "de": ("rakete*", "system*", "drohne*", "bomber*", "marschflugkörper*", "fregatte*"),
    "es": ("misil*", "sistema*", "dron*", "bombardero*", "fragata*"),
    "it": ("missil*", "sistema*", "drone*", "bombardier*", "fregata*"),
    "pl": ("rakiet*", "pocisk*", "system*", "dron*", "bombowc*", "bombowiec", "kompleks*",
           "fregat*"),
    "ru": ("ракет*", "комплекс*", "систем*", "дрон*", "беспилотник*", "бомбардировщик*",
           "фрегат*"),
    "uk": ("ракет*", "комплекс*", "систем*", "дрон*", "безпілотник*", "бомбардувальник*",
           "фрегат*"),
}  # fmt: skip


@cache
def class_words(category: str) -> tuple[str, ...]:
    """Every word, in every catalog language, for the class of weapon ``category`` is (its
    own words and those of the categories it fits) and the words for any weapon."""
    words = [
        w for name in sorted(fits(category)) for ws in CATEGORIES[name].words.values() for w in ws
    ]
    words += [w for ws in CLASS_WORDS.values() for w in ws]
    return tuple(dict.fromkeys(words))
