"""Images in, a result record out, no model: the evaluation session (device, extractors, reference set,
fingerprint), metric settings, checks before the work, computing metrics, the record, and the commands that
need nothing else (``score``, ``reference``, ``compare``)."""
