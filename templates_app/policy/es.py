"""Spanish: the same concepts as ``en``, over stems. A smaller corpus than the required
languages backs it, so it errs on the side of the cues that were seen.

Innocent look-alikes the cues are written around: "no se aplicó el descuento dos veces",
"tipo de cambio", "oferta de empleo", "tu oferta n.º" (a quotation).
"""

from __future__ import annotations

from templates_app.policy.lexicon import VAR, cue, cues, lexicon

_AMOUNT = rf"(?:\d+(?:[.,]\d+)?\s?(?:%|€|\$|euros?|pesos)|[$€]\s?\d+(?:[.,]\d+)?|{VAR})"
_APPLIED = (
    r"^(?:\S+\s+){0,4}(?:ya\s+)?(?:fue|ha sido|se ha|se|está|esta)\s+(?:ya\s+)?"
    r"(?:aplicad\w*|aplicó|incluid\w*|descontad\w*|utilizad\w*)"
)
_STORE = r"\b(?:app ?store|play ?store|google play|appgallery)\b"
_TARGETS = r"\b(?:amig\w*|famili\w*|contactos|grupos?|conocidos|compañeros|todos tus)\b"
_SURVEY_AIMS = (
    r"\b(?:gan\w*|premio\w*|sorteo\w*|descuento\w*|cupón|cupones|regalo\w*|nuevos productos|"
    r"preferencias|intereses|marcas favoritas|próxima colección)\b"
)

LEXICON = lexicon(
    "es",
    negation=r"\b(?:no|sin|nunca|ningún|ninguna|ni)\b",
    negation_exempt=r"\bno te (?:lo |la )?pierdas\b|\bno (?:olvides|se lo pierda)\b",
    acronyms=("IVA", "RFC", "CURP", "DNI", "NIF", "CLABE"),
    promotional_content=(
        *cues(
            r"\brebajas\b",
            r"\bliquidaci[oó]n\b",
            r"\bpromoci[oó]n\w*|\bpromo\b",
            r"\bc[oó]digo (?:de )?(?:descuento|promocional|promo)\b",
            r"\bcup[oó]n\w*",
            r"\bofertas? (?:especial\w*|exclusiv\w*|limitad\w*|imperdible\w*|válid\w*|"
            r"relámpago|del día)",
            r"\b(?:gran\w*|increíble\w*|nuestras|las mejores)\s+ofertas?\b",
            r"\b(?:regalo gratis|de regalo|te regalamos)\b",
            r"\benv[ií]o gratis (?:en|para|por)\b",
            r"\b(?:solo hoy|por tiempo limitado|tiempo limitado|"
            r"hasta agotar (?:existencias|stock))\b",
            r"\bno te (?:lo |la )?pierdas\b",
            r"\baprovecha\w*",
            rf"\b{_AMOUNT}\s+de descuento\b",
            r"\bahorra\b",
            r"\b(?:black friday|cyber monday|2x1|3x2)\b",
        ),
        cue(
            r"\bdescuento\w*|\bdescontad\w*",
            not_after=_APPLIED,
            not_before=r"(?:aplicamos|aplicado|aplicó)\s+(?:el|un|tu|su)?\s*$",
        ),
    ),
    app_store_rating=(
        cue(
            r"\b(?:califica\w*|calificación|valora\w*|valoración|reseña\w*|estrellas|opini\w*)\b",
            near=_STORE,
            not_after=r"^(?:\S+\s+)?(?:entrega|repartidor|pedido|visita|servicio|producto|viaje)\b",
        ),
        cue(r"\b(?:califica|valora|reseña)\w*\s+(?:nuestra\s+)?app\b"),
    ),
    forward_request=(
        cue(
            r"\b(?:reenv[ií]a\w*|comparte\w*|compart[ai]\w*|env[ií]a(?:lo|la)?|pasa(?:lo|la))\b",
            near=_TARGETS,
            not_after=r"^(?:\S+\s+){0,3}a nosotros\b",
            window=6,
        ),
    ),
    marketing_survey=(
        cue(r"\b(?:encuesta\w*|cuestionario\w*|trivia)\b", near=_SURVEY_AIMS, window=18),
    ),
    debt_collection=cues(
        r"\bacci[oó]n(?:es)? legal(?:es)?\b",
        r"\bdemanda\w*|\bjuzgado\w*|\btribunal\w*",
        r"\babogad\w*",
        r"\bcobranza\w*|\bagencia de cobro\w*",
        r"\bbur[oó] de cr[eé]dito\b|\bembargo\w*",
        r"\b(?:informaremos|contactaremos|avisaremos|llamaremos|escribiremos)\b[^.!?]{0,40}"
        r"\b(?:famili\w*|empleador|jefe|contactos|referencias|amigos|vecinos)\b",
        r"\búltimo aviso\b",
        negatable=False,
    ),
    relationship=cues(
        r"\b(?:tu|su|tus|sus)\s+(?:próxim\w+\s+|últim\w+\s+)?(?:pedido\w*|compra\w*|cuenta|"
        r"suscripci[oó]n|reserva\w*|carrito|cita\w*|membres[ií]a|puntos|visita|tarjeta|perfil)\b",
        r"\bgracias por (?:tu|su|ser|elegir\w*|comprar|confiar|visitar\w*|usar)\b",
        r"\bcomo (?:nuestr\w+\s+)?(?:cliente|miembro|soci[oa]|suscriptor)\w*\b",
        r"\b(?:te extrañamos|te echamos de menos|bienvenid\w* de nuevo)\b",
        r"\b(?:en tu carrito|dejaste|compraste|reservaste)\b",
    ),
    marketing_tone=cues(
        r"\bnueva colecci[oó]n\b",
        r"\bnovedades\b",
        r"\bdescubre\b",
        r"\b(?:compra|reserva|pide) (?:ya|ahora|hoy)\b",
        r"\bte (?:encantará|encantarán|puede gustar)\b",
        r"\b(?:te extrañamos|vuelve)\b",
        r"\bno te (?:lo |la )?pierdas\b",
        r"\bsuscríbete\b",
    ),
)
