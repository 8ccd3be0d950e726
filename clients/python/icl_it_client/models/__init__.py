"""Contains all the data models used in inputs/outputs"""

from .artifact import Artifact
from .artifact_kind import ArtifactKind
from .artifact_list import ArtifactList
from .data_spec import DataSpec
from .dataset import Dataset
from .dataset_kind import DatasetKind
from .demo_spec import DemoSpec
from .demo_spec_scope import DemoSpecScope
from .demo_spec_selection import DemoSpecSelection
from .error_info import ErrorInfo
from .event import Event
from .event_data import EventData
from .event_list import EventList
from .experiment import Experiment
from .experiment_list import ExperimentList
from .experiment_resolved_spec import ExperimentResolvedSpec
from .experiment_spec import ExperimentSpec
from .experiment_spec_controls_item import ExperimentSpecControlsItem
from .experiment_spec_metrics_item import ExperimentSpecMetricsItem
from .experiment_spec_scale import ExperimentSpecScale
from .experiment_spec_sweep import ExperimentSpecSweep
from .experiment_status import ExperimentStatus
from .experiment_summary import ExperimentSummary
from .extraction_spec import ExtractionSpec
from .get_results_format import GetResultsFormat
from .get_results_results import GetResultsResults
from .get_results_table_type_0 import GetResultsTableType0
from .health import Health
from .health_checks import HealthChecks
from .health_status import HealthStatus
from .inference_spec import InferenceSpec
from .lora_spec import LoraSpec
from .lora_spec_loss_on import LoraSpecLossOn
from .model import Model
from .model_list import ModelList
from .model_spec import ModelSpec
from .model_spec_dtype import ModelSpecDtype
from .problem import Problem
from .problem_item import ProblemItem
from .progress import Progress
from .run_status import RunStatus
from .run_summary import RunSummary
from .run_summary_factors import RunSummaryFactors
from .study_spec import StudySpec
from .study_spec_overrides import StudySpecOverrides
from .study_spec_sweep import StudySpecSweep
from .task import Task
from .task_list import TaskList
from .template_spec import TemplateSpec
from .template_spec_kind import TemplateSpecKind

__all__ = (
    "Artifact",
    "ArtifactKind",
    "ArtifactList",
    "Dataset",
    "DatasetKind",
    "DataSpec",
    "DemoSpec",
    "DemoSpecScope",
    "DemoSpecSelection",
    "ErrorInfo",
    "Event",
    "EventData",
    "EventList",
    "Experiment",
    "ExperimentList",
    "ExperimentResolvedSpec",
    "ExperimentSpec",
    "ExperimentSpecControlsItem",
    "ExperimentSpecMetricsItem",
    "ExperimentSpecScale",
    "ExperimentSpecSweep",
    "ExperimentStatus",
    "ExperimentSummary",
    "ExtractionSpec",
    "GetResultsFormat",
    "GetResultsResults",
    "GetResultsTableType0",
    "Health",
    "HealthChecks",
    "HealthStatus",
    "InferenceSpec",
    "LoraSpec",
    "LoraSpecLossOn",
    "Model",
    "ModelList",
    "ModelSpec",
    "ModelSpecDtype",
    "Problem",
    "ProblemItem",
    "Progress",
    "RunStatus",
    "RunSummary",
    "RunSummaryFactors",
    "StudySpec",
    "StudySpecOverrides",
    "StudySpecSweep",
    "Task",
    "TaskList",
    "TemplateSpec",
    "TemplateSpecKind",
)
