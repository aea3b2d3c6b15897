"""English: what a reviewer reads as promotion, an app-store rating request, a forward
request, a marketing survey, debt collection, an existing relationship, marketing tone.

Innocent look-alikes the cues are written around (all in the corpus): "not discounted
twice", "the discount of … was applied", "exchange rate", "rate your delivery", "offer
ID", "job offer", "we look forward to", "forward your receipt to us", "tennis court",
"point of sale".
"""

from __future__ import annotations

from templates_app.policy.lexicon import VAR, cue, cues, lexicon

_AMOUNT = (
    rf"(?:\d+(?:[.,]\d+)?\s?%|[$€£]\s?\d+(?:[.,]\d+)?|\d+(?:[.,]\d+)?\s?(?:usd|eur|gbp)|{VAR})"
)
_APPLIED = (
    r"^(?:\S+\s+){0,4}(?:was|has been|have been|were|is|been)\s+(?:already\s+)?"
    r"(?:applied|included|deducted|redeemed|used|taken off|reflected)"
)
_STORE = r"\b(?:app ?store|play ?store|google play|app gallery|appgallery|galaxy store)\b"
_TARGETS = (
    r"\b(?:friends?|family|families|relatives|contacts|groups?|group chats?|everyone|"
    r"everybody|colleagues|loved ones|people you know|others)\b"
)
_SURVEY_AIMS = (
    r"\b(?:win|winners?|prizes?|draws?|giveaways?|sweepstakes?|discounts?|coupons?|"
    r"vouchers?|gift cards?|rewards?|\d+\s?% off|offers|promotions?|new products?|"
    r"products? (?:you(?:'d| would)? (?:like|love|want))|preferences|interests|"
    r"shopping habits|favou?rite brands?|next collection)\b"
)

LEXICON = lexicon(
    "en",
    negation=r"\b(?:not|no|never|without|nothing|none)\b|n['\u2019]t\b",
    negation_exempt=r"\b(?:don['\u2019]?t|do not|never) miss\b",
    acronyms=("VIP",),
    promotional_content=(
        *cues(
            rf"{_AMOUNT}\s+off\b",
            # Not "up to {{3}} days": a variable after "up to" is an offer only with "off".
            r"\bup to\s+(?:\d+(?:[.,]\d+)?\s?%|[$€£]\s?\d+)",
            r"\b(?:exclusive(?:ly)? for you|just for you|this week only|today only)\b",
            r"\bfor the price of (?:one|1)\b",
            r"\b\d+\s?%\s+(?:discount|cash ?back|savings?)\b",
            r"\b(?:promo(?:tion(?:al)?)?|coupon|discount|voucher|offer)\s+codes?\b",
            r"\bcoupons?\b",
            r"\b(?:big|summer|winter|spring|autumn|fall|holiday|flash|clearance|seasonal|"
            r"annual|mega|huge|our|black friday|cyber monday|end of season|anniversary)\s+sale\b",
            r"\bsale\s+(?:is (?:on|live|now on)|ends|starts|event|prices?)\b",
            r"\bon sale\b",
            r"\b(?:special|exclusive|limited|best|great|amazing|unbeatable|holiday|seasonal|"
            r"festive|weekend|latest|hot)\s+(?:offers?|deals?|prices?)\b",
            r"\boffer (?:valid|ends|expires|lasts)\b",
            r"\b(?:deal|deals) of the (?:day|week)\b",
            r"\blimited[- ]time\b",
            r"\bfor a limited (?:time|period)\b",
            r"\bwhile (?:stocks?|supplies) last\b",
            r"\b(?:don['\u2019]?t|do not) miss (?:out|this|our|it|them)\b",
            r"\b(?:black friday|cyber monday)\b",
            r"\brefer a friend\b|\byou both get\b",
            r"\bfree gifts?\b",
            r"\b(?:get|enjoy|claim|receive|with) (?:a )?free (?:shipping|delivery|gift|trial|"
            r"dessert|drink|upgrade)\b",
            r"\bfree (?:shipping|delivery) on (?:all|orders|your next)\b",
            r"\bbuy one,? get one\b",
            r"\bbogo\b",
            rf"\bsave (?:up to\s+)?(?:{_AMOUNT}|big|more)",
            r"\bearn\b[^.!?]{0,30}\bcash ?back\b",
        ),
        cue(
            r"\bdiscount(?:s|ed)?\b",
            not_after=_APPLIED,
            not_before=r"\b(?:applied|included|deducted|redeemed)\s+(?:a|the|your)?\s*$",
        ),
    ),
    app_store_rating=(
        cue(
            r"\b(?:rate|rating|ratings|review|reviews|stars?|5-star|five-star)\b",
            near=_STORE,
            # "rate your delivery" near the store's name is about the delivery.
            not_after=r"^(?:\S+\s+)?(?:delivery|driver|courier|order|visit|stay|meal|service|"
            r"product|purchase|ride|technician|doctor)\b",
        ),
        cue(r"\b(?:rate|review)\s+(?:us|our app|the app|this app|our [\w-]+ app)\b"),
        cue(
            r"\bleave (?:us )?an? (?:\d-star |five-star |5-star |quick |honest )?"
            r"(?:rating|review)\b",
            near=r"\bapp\b",
        ),
    ),
    forward_request=(
        cue(
            rf"\b(?:forward|share|send|pass)\s+(?:this|it|the message|this message|this news|"
            rf"this offer|this link|the link|on)?\s*(?:on\s+)?(?:with|to)\s+(?:all\s+)?"
            rf"(?:of\s+)?(?:your\s+|\d+\s+|five\s+|ten\s+|at least \d+\s+)?(?:other\s+)?"
            rf"{_TARGETS}"
        ),
        cue(r"\bforward this (?:message|msg|text|whatsapp)\b", not_after=r"^to (?:us|our)\b"),
    ),
    marketing_survey=(
        cue(r"\b(?:survey|questionnaire|poll|quiz)\b", near=_SURVEY_AIMS, window=18),
        cue(r"\banswer\b[^.!?]{0,40}\bquestions?\b[^.!?]{0,60}\b(?:win|get|receive|earn)\b"),
    ),
    debt_collection=cues(
        r"\blegal (?:action|proceedings|steps|measures)\b",
        r"\b(?:take|taking) you to court\b",
        r"\bcourt (?:proceedings|action|order)\b",
        r"\b(?:lawsuit|sue you|bailiffs?|garnish\w*)\b",
        r"\b(?:collections? agency|debt collect(?:or|ors|ion)|(?:debt )?recovery agen(?:cy|ts?)|"
        r"collectors)\b",
        r"\bcredit (?:rating|score|record|history) will (?:suffer|be (?:affected|damaged|hurt))\b",
        r"\b(?:inform|notify|contact|tell|call|message)\s+(?:your\s+)?(?:family|employer|"
        r"relatives|friends|contacts|references|neighbou?rs|colleagues)\b",
        r"\bfinal (?:notice|demand|warning)\b",
        r"\blast warning\b",
        r"\bfailure to pay\b",
        r"\bpay (?:immediately|now|today) or\b",
        r"\bor (?:we|you) will (?:be )?(?:take|face|sued|reported|blacklisted)",
        r"\b(?:report(?:ed)? (?:you )?to|blacklist\w*)\b[^.!?]{0,30}\b(?:credit|police|bureau)",
        r"\bpublicly\b[^.!?]{0,20}\b(?:name|shame|expose)",
        r"\b(?:visit|come to|turn up at|call at)\s+(?:your\s+)?(?:workplace|work|home|office|"
        r"house|door)\b",
        negatable=False,
    ),
    relationship=cues(
        r"\byour (?:next\s+)?(?:order|orders|account|purchase|purchases|subscription|"
        r"membership|booking|"
        r"reservation|appointment|cart|basket|wishlist|loyalty|points|plan|last|recent|"
        r"favou?rite|previous|visit|stay|card|profile|rewards?|trial)\b",
        r"\b(?:as a|our|dear)\s+(?:valued\s+|loyal\s+|regular\s+)?(?:member|customer|"
        r"subscriber|client|guest|patient|shopper)s?\b",
        r"\bthanks?(?: you)? for (?:shopping|being|choosing|your|staying|visiting|"
        r"subscribing|signing up|joining|dining|ordering|flying|trusting|purchasing|using)\b",
        r"\byou (?:recently|previously|last|left|subscribed|signed up|joined|bought|"
        r"purchased|ordered|visited|stayed|booked|opted in|asked|saved)\b",
        r"\b(?:welcome back|we miss(?:ed)? you|since you)\b",
        r"\byou(?:'ve| have) (?:been|earned|collected|left|saved|reached|unlocked)\b",
        r"\b(?:left in|items in) your\b",
    ),
    marketing_tone=cues(
        r"\bshop (?:now|today|our|the)\b",
        r"\bnew (?:collection|arrivals?|season|range|menu|styles?)\b",
        r"\bcheck out (?:our|the new|what['\u2019]s new)\b",
        r"\bdiscover (?:our|the new|new)\b",
        r"\byou(?:['\u2019]ll| will| might| may)? (?:also )?(?:love|like) (?:our|these|this)\b",
        r"\brecommend(?:ed|ations?)? for you\b",
        r"\bwe miss(?:ed)? you\b",
        r"\bcome back\b",
        r"\bupgrade (?:now|today|to premium)\b",
        r"\b(?:don['\u2019]?t|do not) miss\b",
        r"\b(?:order|buy|book|subscribe) (?:now|today)\b",
        r"\bnewsletter\b",
        r"\btreat yourself\b",
    ),
)
