"""icl-it SDK: a typed, raising layer over the generated OpenAPI client.

from icl_it_sdk import IclIt, ValidationFailed

with IclIt() as api:                       # $ICL_IT_URL (or ICL_IT_PORT), $ICL_IT_API_KEY (or $ICL_IT_HOME/api_key)
    exp = api.submit({"name": "demo", "demos": {"k": 4}})
    exp = api.wait(exp.id, timeout=600)
    results = api.results(exp.id)          # results.cells[0].label, .metrics[...]
    table = results.to_pandas()            # pip install 'icl-it-sdk[pandas]'
    exp = api.submit_file("examples/default.yaml")
"""

from icl_it_client.models import Artifact, Dataset, Event, Experiment, ExperimentSummary

from icl_it_sdk.address import DEFAULT_URL, default_url
from icl_it_sdk.client import TERMINAL, IclIt, dumps
from icl_it_sdk.errors import (
    ApiError,
    BadRequest,
    Conflict,
    FieldError,
    NotFound,
    PayloadTooLarge,
    Problem,
    RateLimited,
    ServerError,
    Unauthorized,
    Unavailable,
    ValidationFailed,
    WaitTimeout,
)
from icl_it_sdk.events import sse_messages
from icl_it_sdk.results import (
    PANDAS_MISSING,
    CellResult,
    LayerStats,
    Results,
    ResultsCell,
    ResultsDocument,
    ResultsLayerStats,
    ResultsLayerValues,
    ResultsPairedTest,
    ResultsRun,
    ResultsStudy,
    RunResult,
    Study,
    cell_name,
)

__all__ = [
    "DEFAULT_URL",
    "TERMINAL",
    "ApiError",
    "Artifact",
    "BadRequest",
    "PANDAS_MISSING",
    "CellResult",
    "Conflict",
    "Dataset",
    "Event",
    "Experiment",
    "ExperimentSummary",
    "FieldError",
    "IclIt",
    "LayerStats",
    "NotFound",
    "PayloadTooLarge",
    "Problem",
    "RateLimited",
    "Results",
    "ResultsCell",
    "ResultsDocument",
    "ResultsLayerStats",
    "ResultsLayerValues",
    "ResultsPairedTest",
    "ResultsRun",
    "ResultsStudy",
    "RunResult",
    "ServerError",
    "Study",
    "Unauthorized",
    "Unavailable",
    "ValidationFailed",
    "WaitTimeout",
    "cell_name",
    "default_url",
    "dumps",
    "sse_messages",
]
