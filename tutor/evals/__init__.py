"""The eval suite: how far to trust the tutor, measured on cases written as data.

``dataset`` loads and checks the cases (``evals/cases.yaml`` or any file in the same format),
``metrics`` holds the small pure evaluators, ``baseline`` a deliberately plain retrieval pipeline
to compare against, ``runner`` runs both pipelines over the cases, and ``report`` writes the JSON
and HTML report and the terminal table. ``tutor eval`` is the command.
"""
