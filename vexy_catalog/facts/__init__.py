"""Facts about models, read from providers' raw records and checked before they are stored.

One step a module, lower ones never importing higher ones:

- :mod:`.schema`: the facts and their units; :mod:`.values`: parsers of single values;
- :mod:`.units`: what a price is per, decided from evidence;
- :mod:`.reading`: the generic reader by meaning (synonyms per fact, unread keys);
  :mod:`.dialects`: the few providers whose meaning differs; :mod:`.stated`: one record's
  facts (providers-file paths, dialect, generic);
- :mod:`.identity`: when two ids name the same model; :mod:`.references`: the reference
  catalogs (litellm, OpenRouter, models.dev) and matching;
- :mod:`.plausibility`: bounds, reference ratios, placeholders, disputes;
  :mod:`.enrichment`: filling unstated facts without contradicting the provider;
- :mod:`.pipeline`: all the steps in order for one provider;
- :mod:`.kept`: what the catalog keeps of a reference record's reading, so an unchanged record is
  not read again.
"""

from __future__ import annotations

from .dialects import DIALECTS
from .enrichment import enrich
from .identity import identity, normalize_id
from .pipeline import (
    FACT_SOURCE_COLUMNS,
    Baseline,
    ModelFacts,
    baseline,
    iter_resolved,
    resolve_changed,
    resolve_provider,
)
from .plausibility import BOUNDS, Dispute
from .reading import Reading, read_generic
from .references import LITELLM_PROVIDERS, REFERENCE_NAMES, ReferenceIndex, ReferenceMatch, match_tokens
from .schema import ENRICHABLE_FIELDS, FACT_FIELDS, MODALITIES, MODEL_TYPES, PRICE_FIELDS
from .stated import normalize_record, read_record, reading_of_facts

__all__ = [
    "BOUNDS",
    "DIALECTS",
    "ENRICHABLE_FIELDS",
    "FACT_SOURCE_COLUMNS",
    "FACT_FIELDS",
    "LITELLM_PROVIDERS",
    "MODALITIES",
    "MODEL_TYPES",
    "PRICE_FIELDS",
    "REFERENCE_NAMES",
    "Dispute",
    "ModelFacts",
    "Reading",
    "ReferenceIndex",
    "ReferenceMatch",
    "enrich",
    "identity",
    "iter_resolved",
    "match_tokens",
    "normalize_id",
    "normalize_record",
    "read_generic",
    "read_record",
    "reading_of_facts",
    "Baseline",
    "baseline",
    "resolve_changed",
    "resolve_provider",
]
