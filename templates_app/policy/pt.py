"""Portuguese (Brazil and Portugal): the same concepts as ``en``, over stems. A smaller
corpus than the required languages backs it.

Innocent look-alikes the cues are written around: "o desconto já foi aplicado", "taxa de
câmbio", "proposta n.º", "encaminhe o comprovante para nós".
"""

from __future__ import annotations

from templates_app.policy.lexicon import VAR, cue, cues, lexicon

_AMOUNT = rf"(?:\d+(?:[.,]\d+)?\s?(?:%|€|reais)|(?:r\$|€)\s?\d+(?:[.,]\d+)?|{VAR})"
_APPLIED = (
    r"^(?:\S+\s+){0,4}(?:já\s+)?(?:foi|foram|está|esta|será)\s+(?:já\s+)?"
    r"(?:aplicad\w*|incluíd\w*|descontad\w*|utilizad\w*|usad\w*)"
)
_STORE = r"\b(?:app ?store|play ?store|google play|appgallery)\b"
_TARGETS = r"\b(?:amig\w*|famíli\w*|contatos|contactos|grupos?|conhecidos|colegas|todos os seus)\b"
_SURVEY_AIMS = (
    r"\b(?:ganh\w*|prêmio\w*|prémio\w*|sorteio\w*|desconto\w*|cupom|cupons|cupão|brinde\w*|"
    r"novos produtos|preferências|interesses|marcas favoritas|próxima coleção)\b"
)

LEXICON = lexicon(
    "pt",
    negation=r"\b(?:não|nao|sem|nunca|nenhum|nenhuma|nem)\b",
    negation_exempt=r"\bnão (?:perca|deixe de|esqueça)\b",
    acronyms=("CPF", "CNPJ", "PIX", "CEP", "NIF", "IVA", "SPC"),
    promotional_content=(
        *cues(
            r"\bliquidaç[aã]o\b|\bsaldos\b",
            r"\bpromoç\w*|\bpromo\b",
            r"\bc[oó]digo (?:de )?(?:desconto|promocional|promo)\b",
            r"\bcupom\b|\bcupons\b|\bcup[aã]o\b",
            r"\bofertas? (?:especia\w*|exclusiv\w*|imperdíve\w*|limitad\w*|relâmpago|do dia)",
            r"\b(?:grandes|incríveis|nossas|as melhores)\s+ofertas\b",
            r"\bbrinde\w*|\bde presente\b|\bganhe um presente\b",
            r"\bfrete gr[aá]tis\b",
            r"\b(?:só hoje|por tempo limitado|tempo limitado|enquanto durarem os estoques)\b",
            r"\bnão perca\b",
            r"\baproveite\b",
            rf"\b{_AMOUNT}\s+de desconto\b",
            r"\bcashback\b",
            r"\b(?:black friday|leve 3 pague 2)\b",
        ),
        cue(
            r"\bdesconto\w*|\bdescontad\w*",
            not_after=_APPLIED,
            not_before=r"(?:aplicamos|aplicado)\s+(?:o|um|seu)?\s*$",
        ),
    ),
    app_store_rating=(
        cue(
            r"\b(?:avali\w*|estrelas|coment[aá]rio\w*|nota)\b",
            near=_STORE,
            not_after=r"^(?:\S+\s+)?(?:entrega|entregador|pedido|visita|atendimento|produto|"
            r"corrida|motorista)\b",
        ),
        cue(r"\b(?:avali\w*)\s+(?:o\s+)?(?:nosso\s+)?(?:app|aplicativo)\b"),
    ),
    forward_request=(
        cue(
            r"\b(?:encaminh\w*|compartilh\w*|partilh\w*|envie|repasse)\b",
            near=_TARGETS,
            not_after=r"^(?:\S+\s+){0,3}(?:para nós|para a gente)\b",
            window=6,
        ),
    ),
    marketing_survey=(
        cue(r"\b(?:pesquisa\w*|question[aá]rio\w*|quiz)\b", near=_SURVEY_AIMS, window=18),
    ),
    debt_collection=cues(
        r"\b(?:aç[aã]o|medidas|processo|cobrança) judicia\w*",
        r"\badvogad\w*",
        r"\b(?:serasa|spc)\b|\bnome (?:sujo|negativado)\b|\bnegativa\w* (?:o )?seu nome\b",
        r"\bprotest\w* (?:o título|em cartório)\b",
        r"\b(?:avisaremos|informaremos|contataremos|ligaremos|mandaremos mensagem)\b[^.!?]{0,40}"
        r"\b(?:famíli\w*|empregador|chefe|contatos|amigos|vizinhos|parentes)\b",
        r"\búltimo aviso\b",
        negatable=False,
    ),
    relationship=cues(
        r"\b(?:seu|sua|seus|suas|teu|tua)\s+(?:próxim\w+\s+|últim\w+\s+)?(?:pedido\w*|compra\w*|"
        r"conta|assinatura|reserva\w*|carrinho|consulta\w*|pontos|visita|cartão|perfil)\b",
        r"\bobrigad[oa] por\b",
        r"\bcomo (?:nosso\s+|nossa\s+)?(?:cliente|membro|sóci[oa]|assinante)\w*\b",
        r"\b(?:sentimos (?:a )?sua falta|bem-vind\w* de volta)\b",
        r"\b(?:no seu carrinho|você (?:iniciou|deixou|comprou|reservou))\b",
    ),
    marketing_tone=cues(
        r"\bnova coleç[aã]o\b",
        r"\bnovidades\b",
        r"\bdescubra\b",
        r"\b(?:compre|reserve|peça) (?:já|agora|hoje)\b",
        r"\bvocê vai (?:amar|adorar)\b",
        r"\bsentimos (?:a )?sua falta\b",
        r"\bnão perca\b",
        r"\binscreva-se\b",
    ),
)
