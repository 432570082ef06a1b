"""The official forms as PDF: 核查单, 督办单, the citizen's receipt, batch prints.

``context`` turns an order or case into plain form data (masked unless asked),
``render`` turns form data into PDF bytes with WeasyPrint, ``store`` keeps the
masked PDF of each order on disk under its data hash, ``jobs`` is the outbox
entry point, ``views`` and ``cli`` are the edges.
"""
