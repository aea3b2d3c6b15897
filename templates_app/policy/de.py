"""German: the same concepts as ``en``. German, like Danish, compounds: "Angebot" is as
often a quotation ("Ihr Angebot Nr.") as a promotion, so only qualified offers count
("Sonderangebot", "exklusives Angebot", "Angebot gilt bis"). A smaller corpus than the
required languages backs it.

Innocent look-alikes the cues are written around: "der Rabatt wurde bereits abgezogen",
"Wechselkurs", "Ihr Angebot Nr.", "leiten Sie die Quittung an uns weiter".
"""

from __future__ import annotations

from templates_app.policy.lexicon import VAR, cue, cues, lexicon

_AMOUNT = rf"(?:\d+(?:[.,]\d+)?\s?(?:%|€|euro|chf)|€\s?\d+(?:[.,]\d+)?|{VAR})"
_APPLIED = (
    r"^(?:\S+\s+){0,4}(?:wurde|wurden|ist|sind|wird)\s+(?:bereits\s+|schon\s+)?"
    r"(?:abgezogen|angerechnet|berücksichtigt|eingelöst|verrechnet)"
)
_STORE = r"\b(?:app ?store|play ?store|google play|appgallery)\b"
_TARGETS = r"\b(?:freund\w*|familie|kontakt\w*|gruppe\w*|bekannt\w*|kolleg\w*|an alle)\b"
_SURVEY_AIMS = (
    r"\b(?:gewinn\w*|preis\w*|verlosung\w*|gewinnspiel\w*|rabatt\w*|gutschein\w*|"
    r"neue produkte|vorlieben|interessen|lieblingsmarken|nächste kollektion)\b"
)

LEXICON = lexicon(
    "de",
    negation=r"\b(?:nicht|kein\w*|ohne|nie|niemals)\b",
    negation_exempt=r"\bnicht (?:verpassen|entgehen)\b|\bverpassen sie nicht\b",
    acronyms=("MWST", "UST", "IBAN", "SCHUFA", "PLZ", "GMBH", "DHL"),
    promotional_content=(
        *cues(
            r"\b(?:sale|schlussverkauf|ausverkauf|sommerschlussverkauf)\b",
            r"\bsonderangebot\w*|\bangebot\w* (?:gilt|gelten|endet|nur)\b",
            r"\b(?:exklusiv\w*|besonder\w*|unschlagbar\w*|tolle\w*|limitiert\w*)\s+angebot\w*",
            r"\b(?:rabatt|gutschein|aktions)code\w*",
            r"\bgutschein\w*",
            r"\bgratis (?:dazu|geschenk\w*|versand)\b",
            r"\bkostenlos\w* (?:geschenk|versand (?:ab|für|auf))",
            r"\b(?:nur heute|nur für kurze zeit|zeitlich begrenzt|solange der vorrat reicht)\b",
            r"\bnicht verpassen\b|\bjetzt zugreifen\b",
            rf"\b(?:spar\w*)\s+(?:bis zu\s+)?{_AMOUNT}",
            rf"\b{_AMOUNT}\s+(?:rabatt|auf alles)\b",
            r"\b(?:black friday|cyber monday)\b",
        ),
        cue(
            r"\brabatt\w*|\breduziert\w*",
            not_after=_APPLIED,
            not_before=r"(?:abgezogen|angerechnet)\s*$",
        ),
    ),
    app_store_rating=(
        cue(
            r"\b(?:bewert\w*|rezension\w*|sterne\w*)\b",
            near=_STORE,
            not_after=r"^(?:\S+\s+)?(?:lieferung|fahrer\w*|bestellung|besuch|service|produkt\w*|"
            r"fahrt)\b",
        ),
        cue(r"\bbewerte\w*\s+(?:sie\s+)?(?:unsere\s+)?app\b"),
    ),
    forward_request=(
        cue(
            r"\b(?:leite\w*|weiterleiten|teile\w*|teilen sie|schick\w*)\b",
            near=_TARGETS,
            not_after=r"^(?:\S+\s+){0,4}an uns\b",
            window=6,
        ),
    ),
    marketing_survey=(cue(r"\b(?:umfrage\w*|fragebogen\w*|quiz)\b", near=_SURVEY_AIMS, window=18),),
    debt_collection=cues(
        r"\brechtliche\w* schritte\b",
        r"\bgericht\w*",
        r"\banwalt\w*|\brechtsanwalt\w*",
        r"\binkasso\w*",
        r"\bschufa\b|\bmahnbescheid\w*|\bgerichtsvollzieher\w*|\bpfändung\w*",
        r"\b(?:informieren|benachrichtigen|kontaktieren|schreiben|rufen)\b[^.!?]{0,40}"
        r"\b(?:arbeitgeber\w*|familie|angehörig\w*|freunde\w*|nachbarn|kolleg\w*)\b",
        r"\bletzte (?:warnung|mahnung)\b",
        negatable=False,
    ),
    relationship=cues(
        r"\b(?:ihr|ihre|ihren|ihrem|dein|deine|deinen|deinem)\s+(?:nächste\w*\s+|letzte\w*\s+)?"
        r"(?:bestellung|konto|kauf|einkauf|abo\w*|buchung|reservierung|warenkorb|termin|"
        r"mitgliedschaft|punkte\w*|besuch|kundenkarte|profil)\b",
        r"\b(?:danke|vielen dank),? (?:für|dass)\b",
        r"\bals (?:unser\w*\s+)?(?:kunde|kundin|mitglied|abonnent\w*|stammkund\w*)\b",
        r"\b(?:wir vermissen (?:dich|sie)|willkommen zurück)\b",
        r"\b(?:im warenkorb|sie haben (?:kürzlich|bei uns))\b",
    ),
    marketing_tone=cues(
        r"\bneue kollektion\b",
        r"\bneuheiten\b",
        r"\bentdecke\w*\b",
        r"\bjetzt (?:kaufen|bestellen|buchen|shoppen)\b",
        r"\bwir vermissen\b",
        r"\bnicht verpassen\b",
        r"\bjetzt (?:anmelden|abonnieren)\b",
    ),
)
