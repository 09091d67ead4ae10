"""The checks ``courtroom verify`` runs, one module per concept.

* ``report``     the named checks and their rendering
* ``pdf_checks`` PAdES signatures, coverage, the /Contents padding, the attachments
* ``manifest``   the rendered prefix and every attachment against the manifest
* ``audit``      the hash chain, its heads and the transcript rebuilt from it
* ``reconcile``  record.json against the log: the document rebuilt with ``freeze``, keys
                 from ``signing_key_registered``, signatures and refusals both ways
* ``seal_time``  the seal's RFC 3161 genTime against the close, and who stamped it
* ``pages``      the sealed pages against the pages rendered from record.json
* ``recordings`` recording files against their hashes
"""
