"""The ``icl-it`` command line: ``main`` (local commands and the parser), ``remote`` (the
HTTP API through the SDK), ``demo`` (``make demo``), ``models`` (``icl-it models pull``),
``specs`` (reading spec files, shared by all of them)."""
