"""Danish: the same concepts as ``en``. Danish writes compounds in one word, so a cue for
"tilbud" (offer) must not take "tilbudsnummer" (quotation number) or "dit tilbud på
tagarbejdet" (a tradesman's quote): promotion is "ugens tilbud", "eksklusivt tilbud",
"tilbuddet gælder til", never the bare word.

Other innocent look-alikes the cues are written around (all in the corpus): "rabatten
er trukket fra", "ikke fået rabat to gange", "vekselkurs", "din undersøgelse på klinikken"
(a medical examination, not a survey), "send kvitteringen til os", "rykker" (a polite
reminder, allowed).
"""

from __future__ import annotations

from templates_app.policy.lexicon import VAR, cue, cues, lexicon

_AMOUNT = rf"(?:\d+(?:[.,]\d+)?\s?(?:%|kr\.?|dkk)|{VAR})"
_APPLIED = (
    r"^(?:\S+\s+){0,4}(?:er|blev|bliver|var)\s+(?:allerede\s+)?(?:trukket fra|fratrukket|"
    r"brugt|anvendt|indregnet|medregnet|givet)"
)
_STORE = r"\b(?:app ?store|play ?butik\w*|google play|play store|appgallery)\b"
_TARGETS = (
    r"\b(?:venner|veninder|ven|familie\w*|kontakter|grupper|gruppe|gruppechat\w*|kolleger|"
    r"kollegaer|bekendte|alle du kender|alle dine)\b"
)
_SURVEY_AIMS = (
    r"\b(?:vind\w*|præmie\w*|lodtrækning\w*|konkurrence\w*|rabat\w*|gavekort\w*|tilbud|"
    r"nye produkter|præferencer|interesser|yndlingsmærker|favoritmærker|næste kollektion)\b"
)

LEXICON = lexicon(
    "da",
    negation=r"\b(?:ikke|ingen|intet|uden|aldrig)\b",
    negation_exempt=r"\b(?:gå|gik) ikke glip\b|\bglem ikke\b",
    acronyms=("MOMS", "CVR", "CPR", "RKI", "NEMID", "MITID", "PBS", "MOBILEPAY"),
    promotional_content=(
        *cues(
            r"\b(?:gode?|ugens|dagens|månedens|weekendens|eksklusive?t?|særlige?|specielle?t?|"
            r"fantastiske?|unikke?|skarpe?|vilde?|begrænsede?|store?)\s+tilbud\w*",
            r"\btilbud(?:det|dene)? (?:gælder|udløber|slutter|kun)\b",
            r"\btilbud (?:til dig|kun for)\b",
            r"\budsalg\w*",
            r"\bsalg(?:et)? (?:starter|slutter|er i gang)\b",
            r"\b(?:black friday|cyber monday|mellemdagssalg\w*)\b",
            r"\b(?:rabat|kupon|kampagne|voucher)kode\w*",
            r"\bkupon\w*",
            r"\bgratis (?:gave|fragt på|levering på)\b|\bfå (?:en )?gratis\b",
            rf"\bspar (?:op til\s+)?(?:{_AMOUNT}|stort)",
            r"\b(?:kun i dag|kun i weekenden|i begrænset tid|begrænset tid|"
            r"så længe lager haves)\b",
            r"\bgå ikke glip\b",
            r"\bskynd dig\b",
            r"\bkun for dig\b|\bfor prisen af (?:én|en|et|1)\b",
            # A figure, not a variable: "du kan spare tid med {{1}}" offers nothing.
            r"\bspar(?:er|e)?\b[^.!?]{0,25}?\d+(?:[.,]\d+)?\s?(?:%|kr\b)",
            rf"\b(?:sat|sættes)\s+{_AMOUNT}\s+ned\b|\bnedsatte? priser?\b|\btil nedsat pris\b",
            r"\banbefal os til en ven\b|\bfår I begge\b",
            rf"\b{_AMOUNT}\s+(?:rabat|på alt)\b",
            r"\bkøb \d+,? (?:og )?(?:få|betal for) \d+\b",
        ),
        cue(
            r"\brabat(?:ten|ter|terne)?\b",
            not_after=_APPLIED,
            not_before=r"(?:fratrukket|trukket)\s*$",
        ),
    ),
    app_store_rating=(
        cue(
            r"\b(?:bedøm\w*|anmeld\w*|vurder\w*|stjerne\w*|rating\w*)\b",
            near=_STORE,
            not_after=r"^(?:\S+\s+)?(?:levering\w*|bud\w*|chauffør\w*|ordre\w*|besøg\w*|"
            r"service\w*|produkt\w*|ophold\w*|tur\w*)\b",
        ),
        cue(r"\b(?:bedøm|anmeld|vurder)\w*\s+(?:vores\s+)?app(?:en|'en)?\b"),
    ),
    forward_request=(
        cue(
            # Imperatives only: "din gave er sendt til din ven" tells, it does not ask.
            r"\b(?:videresend|del|send|fortæl)\b",
            near=_TARGETS,
            not_after=r"^(?:\S+\s+){0,3}til os\b",
            window=6,
        ),
    ),
    marketing_survey=(
        cue(
            r"\b(?:spørgeskema\w*|undersøgelse\w*|afstemning\w*|quiz\w*)\b",
            near=_SURVEY_AIMS,
            window=18,
        ),
    ),
    debt_collection=cues(
        r"\binkasso\w*",
        r"\bretslig\w*|\bretssag\w*|\bretten\b",
        r"\bfogedret\w*|\bfogeden\b|\butlæg\w*",
        r"\badvokat\w*",
        r"\b(?:kontakter|orienterer|informerer|fortæller|skriver til|ringer til)\b[^.!?]{0,40}"
        r"\b(?:arbejdsgiver\w*|familie\w*|venner|naboer|kolleger|kollegaer|pårørende)\b",
        r"\bsidste (?:advarsel|chance for at betale)\b",
        r"\b(?:kommer|møder op|dukker op)\b[^.!?]{0,40}\b(?:arbejdsplads\w*|hjem\w*|bopæl)\b",
        r"\bRKI\b|\bskyldnerregist\w*",
        r"\bbetal (?:straks|omgående|i dag) eller\b",
        r"\bkræver (?:straks|omgående)?\s*betaling\b",
        negatable=False,
    ),
    relationship=cues(
        r"\b(?:din|dit|dine)\s+(?:næste\s+|seneste\s+|sidste\s+|tidligere\s+)?(?:ordre\w*|"
        r"bestilling\w*|konto|køb|abonnement\w*|booking\w*|reservation\w*|kurv|indkøbskurv|"
        r"medlemskab\w*|point|bonus\w*|favorit\w*|aftale\w*|besøg|kundekort\w*|profil\w*)\b",
        r"\btak for (?:dit|din|at|sidst|købet|besøget|ordren|tilliden)\b|\btak fordi du\b",
        r"\bsom (?:vores\s+)?(?:trofast\w*\s+|fast\w*\s+)?(?:medlem\w*|kunde\w*|abonnent\w*)\b",
        r"\b(?:vi savner dig|velkommen tilbage|det er længe siden)\b",
        r"\bdu (?:har )?(?:købt|bestilt|besøgt|tilmeldt|handlet|lagt|efterladt|gemt)\b",
        r"\bkære kunde\b",
        r"\bdu var med\b",
        r"\bi din kurv\b",
        r"\b(?:din|dit|dine) (?:yndlings|favorit)\w*",
    ),
    marketing_tone=cues(
        r"\bny\w* kollektion\w*",
        r"\bnyheder\b",
        r"\bopdag\b",
        r"\b(?:shop|køb|book|bestil) (?:nu|her|i dag)\b",
        r"\bvi savner dig\b",
        r"\bkom tilbage\b",
        r"\bgå ikke glip\b",
        r"\btilmeld dig\b",
        r"\bdu vil (?:elske|synes om)\b",
        r"\bopgrader\w* (?:nu|til)\b",
    ),
)
