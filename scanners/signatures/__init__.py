"""Electronic signatures in files: which kind, how many, when, by whom (issue 17).

One file at a time, from worker threads: no shared state, positional reads only, no
DuckDB and nothing of the catalogue. `is_candidate` decides from what the walk and the
identification already know whether a file is worth reading; `detect` reads only the
bytes each format needs and returns a SignatureInfo, or None for an unsigned file.
`pair_detached` pairs detached signatures with their documents within a folder.

Nothing is verified: no chain validation, no revocation check, no network. The kinds:
pades, pdf-pkcs7 (PDF signature dictionaries), cades (CMS SignedData), xades, xmldsig,
asic-s, asic-e, ooxml, odf (signatures inside ZIP containers), timestamp (RFC 3161).
"""

from scanners.schemas import SIGNATURES, ScannerInfo
from scanners.signatures.batch import SigCandidate, SigResult, detect_batch, results_batch
from scanners.signatures.dispatch import detect, detect_open, is_candidate
from scanners.signatures.model import KINDS, SignatureInfo, Signer
from scanners.signatures.pairing import DetachedPairs, pair_detached, signed_names_for

__all__ = ["KINDS", "SCANNER", "DetachedPairs", "SigCandidate", "SigResult", "SignatureInfo", "Signer", "detect",
           "detect_batch", "detect_open", "is_candidate", "pair_detached", "results_batch", "signed_names_for"]

SCANNER = ScannerInfo("signatures", (SIGNATURES,))
