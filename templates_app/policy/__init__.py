"""The template read as a WhatsApp reviewer reads it: ``engine`` holds the rules, one
module per language (``en``, ``ru``, ``it``, ``da``, ``es``, ``pt``, ``de``) the words
they look for, in the shape ``lexicon`` defines."""

from templates_app.policy.engine import check_policy

__all__ = ["check_policy"]
