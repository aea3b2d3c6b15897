"""Italian: the same concepts as ``en``, over stems (scont-, promozion-, offert-).

Innocent look-alikes the cues are written around (all in the corpus): "non è stato
scontato due volte", "lo sconto … è stato applicato", "tasso di cambio", "la sua offerta
n." (a quotation, as Italian businesses call it), "offerta di lavoro", "inoltri la
ricevuta al nostro indirizzo", "campo da tennis", "IVA 22%", "valuti il corriere".
"""

from __future__ import annotations

from templates_app.policy.lexicon import VAR, cue, cues, lexicon

_AMOUNT = rf"(?:\d+(?:[.,]\d+)?\s?(?:%|€|euro)|€\s?\d+(?:[.,]\d+)?|{VAR})"
_APPLIED = (
    r"^(?:\S+\s+){0,4}(?:è|e'|é|sono|era|viene|verrà)\s+(?:già\s+)?(?:stat[oaie]\s+)?"
    r"(?:applicat\w*|incluso|inclusa|detratt\w*|utilizzat\w*|usat\w*|riconosciut\w*)"
)
_STORE = r"\b(?:app ?store|play ?store|google play|appgallery)\b"
_TARGETS = (
    r"\b(?:amici|amiche|amico|parenti|familiari|famiglia|contatti|gruppi|gruppo|colleghi|"
    r"conoscenti|chi conosci|a tutti)\b"
)
_SURVEY_AIMS = (
    r"\b(?:vinc\w*|vincer\w*|premi\w*|estrazion\w*|concorso|sconto|sconti|buono|buoni|"
    r"coupon|omaggio|regalo|nuovi prodotti|preferenze|interessi|offerte|marchi preferiti|"
    r"prossima collezione|gift card)\b"
)

LEXICON = lexicon(
    "it",
    negation=r"\b(?:non|nessun\w*|senza|mai|né)\b",
    negation_exempt=r"\bnon (?:perder\w*|lasciart\w* sfuggire|dimenticar\w*)",
    acronyms=("IVA", "CAP", "SPID", "PEC", "INPS", "IBAN"),
    promotional_content=(
        *cues(
            r"\bsaldi\b",
            r"\bsvendit\w*",
            r"\bpromozion\w*|\bpromo\b",
            r"\bcodic\w+ (?:sconto|promo\w*)\b",
            r"\bcoupon\b",
            r"\bbuon\w* sconto\b",
            r"\boffert\w+ (?:special\w*|esclusiv\w*|limitat\w*|imperdibil\w*|valid\w*|"
            r"lampo|del giorno|della settimana|riservat\w*)",
            r"\b(?:speciale|imperdibile|nostra nuova|grande|super|incredibile)\s+offert\w*",
            r"\b(?:in )?omaggio\b(?!\s+a\b)",
            r"\bregalo (?:per te|in omaggio)\b|\bin regalo\b|\bti regaliamo\b",
            r"\bspedizion\w* gratuit\w* (?:per|su|sopra|oltre)\b",
            r"\b(?:solo per oggi|solo oggi|per un periodo limitato|a tempo limitato|"
            r"tempo limitato|fino ad esaurimento scorte)\b",
            r"\bnon (?:perdere|perderti|lasciarti sfuggire)\b",
            r"\bapprofitta\w*",
            rf"\b{_AMOUNT}\s+di sconto\b",
            r"\brisparmia\b",
            rf"\brisparmi\w*\s+(?:il\s+|fino al\s+)?{_AMOUNT}",
            r"\bporta un amico\b|\briceverete entrambi\b",
            r"\b(?:black friday|cyber monday|paghi 1 prendi 2|prendi 2 paghi 1|2x1|3x2)\b",
            r"\bcashback\b",
            r"\bsolo per te\b|\bal prezzo di (?:uno|una|1)\b",
        ),
        cue(
            r"\bscont(?:o|i|at\w*|istic\w*)\b",
            not_after=_APPLIED,
            not_before=r"(?:applicat\w*|riconosciut\w*)\s+(?:lo|il|uno)?\s*$",
        ),
    ),
    app_store_rating=(
        cue(
            r"\b(?:valut\w*|recension\w*|stell\w*|voto|giudizio)\b",
            near=_STORE,
            not_after=r"^(?:\S+\s+)?(?:consegn\w*|corrier\w*|ordin\w*|soggiorno|servizio|"
            r"prodott\w*|visita|tecnico|pasto)\b",
        ),
        cue(
            r"\b(?:valut\w*|recensisc\w*|recension\w* (?:del|della|per))\s+(?:la\s+)?"
            r"(?:nostra\s+)?app\b"
        ),
    ),
    forward_request=(
        cue(
            r"\b(?:inoltr\w*|condivid\w*|condivisi\w*|gira(?:lo|la|te)?|invia(?:lo|la|te)?|"
            r"manda(?:lo|la|te)?)\b",
            near=_TARGETS,
            not_after=r"^(?:\S+\s+){0,3}(?:a noi|al nostro|alla nostra)\b",
            window=6,
        ),
    ),
    marketing_survey=(
        cue(r"\b(?:sondaggi\w*|questionari\w*|quiz)\b", near=_SURVEY_AIMS, window=18),
    ),
    debt_collection=cues(
        r"\bazion\w* legal\w*|\bvie legali\b",
        r"\bavvocat\w*",
        r"\btribunale\b",
        r"\bdecreto ingiuntivo\b",
        r"\brecupero crediti\b",
        r"\bpignorament\w*",
        r"\bufficiale giudiziario\b",
        r"\bmessa in mora\b|\bdiffida\b",
        r"\b(?:informeremo|avviseremo|contatteremo|chiameremo|scriveremo)\b[^.!?]{0,40}"
        r"\b(?:familiari|parenti|datore di lavoro|amici|contatti|colleghi|vicini)\b",
        r"\bultimo (?:avviso|sollecito)\b",
        r"\bpaga (?:subito|immediatamente) o\b",
        r"\bcentrale rischi\b|\bcattivo pagatore\b",
        r"\b(?:passeranno|verranno|verremo|passeremo)\b[^.!?]{0,30}\b(?:posto di lavoro|"
        r"casa|ufficio|abitazione)\b",
        negatable=False,
    ),
    relationship=cues(
        r"\b(?:tuo|tua|tuoi|tue|suo|sua|suoi|sue)\s+(?:prossim\w+\s+|"
        r"ultim\w+\s+)?(?:ordin\w*|account|acquist\w*|abbonament\w*|prenotazion\w*|carrello|"
        r"tessera|punti|profilo|iscrizion\w*|conto|visita|appuntament\w*|carta|"
        r"programma fedeltà)\b",
        r"\bgrazie (?:per|di) (?:aver\w*|essere|il tuo|la tua|averci|la fiducia)\b",
        r"\bcome (?:nostr\w+\s+)?(?:client\w*|soci\w*|iscritt\w*|membr\w*|abbonat\w*)\b",
        r"\b(?:ci manchi|bentornat\w*|è da un po')\b",
        r"\bhai (?:recentemente|acquistato|ordinato|lasciato|visitato|scelto|prenotato)\b",
        r"\b(?:gentile|cara|caro|gentili) client\w*\b",
        r"\bnel tuo carrello\b",
        r"\bti è piaciut\w*|\bvisto che hai\b",
        r"\b(?:tuo|tua|tuoi|tue)\b[^.!?]{0,30}\bprefer(?:ito|ita|iti|ite)\b",
        r"\bper (?:i nostri|tutti i nostri) (?:clienti|soci|iscritti)\b",
    ),
    marketing_tone=cues(
        r"\bnuov\w+ collezion\w*",
        r"\bnovità\b",
        r"\bscopri\b",
        r"\b(?:acquista|compra|prenota|ordina) (?:ora|subito|oggi)\b",
        r"\bti (?:piacerà|piaceranno|potrebbe piacere|potrebbero piacere)\b",
        r"\bci manchi\b",
        r"\btorna a trovarci\b",
        r"\bnon perdere\b",
        r"\bvisita il nostro (?:shop|negozio|sito)\b",
        r"\biscriviti\b",
        r"\bpassa a (?:premium|pro)\b",
    ),
)
