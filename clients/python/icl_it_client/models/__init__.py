"""Contains all the data models used in inputs/outputs"""

from .artifact import Artifact
from .artifact_kind import ArtifactKind
from .artifact_list import ArtifactList
from .causal_spec import CausalSpec
from .control import Control
from .data_spec import DataSpec
from .dataset import Dataset
from .dataset_kind import DatasetKind
from .dataset_list import DatasetList
from .demo_spec import DemoSpec
from .demo_spec_contrast import DemoSpecContrast
from .demo_spec_scope import DemoSpecScope
from .demo_spec_selection import DemoSpecSelection
from .design_request import DesignRequest
from .design_request_pilot_type_0 import DesignRequestPilotType0
from .design_result import DesignResult
from .design_result_compute_pilot_type_0 import DesignResultComputePilotType0
from .design_result_compute_type_0 import DesignResultComputeType0
from .error_info import ErrorInfo
from .event import Event
from .event_data import EventData
from .event_list import EventList
from .experiment import Experiment
from .experiment_list import ExperimentList
from .experiment_resolved_spec import ExperimentResolvedSpec
from .experiment_spec import ExperimentSpec
from .experiment_spec_metrics_item import ExperimentSpecMetricsItem
from .experiment_spec_scale import ExperimentSpecScale
from .experiment_spec_sweep import ExperimentSpecSweep
from .experiment_status import ExperimentStatus
from .experiment_summary import ExperimentSummary
from .extraction_spec import ExtractionSpec
from .get_results_format import GetResultsFormat
from .get_results_table_type_0 import GetResultsTableType0
from .health import Health
from .health_checks import HealthChecks
from .health_status import HealthStatus
from .inference_spec import InferenceSpec
from .lora_spec import LoraSpec
from .lora_spec_loss_on import LoraSpecLossOn
from .lora_spec_save_adapters import LoraSpecSaveAdapters
from .model import Model
from .model_list import ModelList
from .model_spec import ModelSpec
from .model_spec_dtype import ModelSpecDtype
from .parse_spec_text_body import ParseSpecTextBody
from .parse_spec_text_response_parse_spec_text import ParseSpecTextResponseParseSpecText
from .primary_result import PrimaryResult
from .problem import Problem
from .problem_item import ProblemItem
from .progress import Progress
from .results_causal_check import ResultsCausalCheck
from .results_causal_check_own_vs_cross import ResultsCausalCheckOwnVsCross
from .results_causal_check_own_vs_cross_adapter import ResultsCausalCheckOwnVsCrossAdapter
from .results_causal_check_own_vs_cross_additional_property import ResultsCausalCheckOwnVsCrossAdditionalProperty
from .results_causal_check_patched import ResultsCausalCheckPatched
from .results_causal_check_patched_additional_property import ResultsCausalCheckPatchedAdditionalProperty
from .results_causal_check_patched_additional_property_cross import ResultsCausalCheckPatchedAdditionalPropertyCross
from .results_causal_check_patched_additional_property_cross_adapter import (
    ResultsCausalCheckPatchedAdditionalPropertyCrossAdapter,
)
from .results_causal_check_patched_additional_property_own import ResultsCausalCheckPatchedAdditionalPropertyOwn
from .results_causal_check_unpatched import ResultsCausalCheckUnpatched
from .results_causal_check_unpatched_additional_property import ResultsCausalCheckUnpatchedAdditionalProperty
from .results_cell import ResultsCell
from .results_cell_accuracy import ResultsCellAccuracy
from .results_cell_cka_null import ResultsCellCkaNull
from .results_cell_config import ResultsCellConfig
from .results_cell_control import ResultsCellControl
from .results_cell_control_tests import ResultsCellControlTests
from .results_cell_it import ResultsCellIt
from .results_cell_label_mass import ResultsCellLabelMass
from .results_cell_label_mass_additional_property import ResultsCellLabelMassAdditionalProperty
from .results_cell_primary_type_1 import ResultsCellPrimaryType1
from .results_cell_primary_type_1_decomposition_type_1 import ResultsCellPrimaryType1DecompositionType1
from .results_controls import ResultsControls
from .results_controls_identity_checks_item import ResultsControlsIdentityChecksItem
from .results_controls_random_init_item import ResultsControlsRandomInitItem
from .results_controls_random_init_item_metrics import ResultsControlsRandomInitItemMetrics
from .results_controls_random_init_item_metrics_additional_property import (
    ResultsControlsRandomInitItemMetricsAdditionalProperty,
)
from .results_controls_random_init_item_metrics_additional_property_anchor_icl import (
    ResultsControlsRandomInitItemMetricsAdditionalPropertyAnchorIcl,
)
from .results_controls_random_init_item_metrics_additional_property_anchor_it import (
    ResultsControlsRandomInitItemMetricsAdditionalPropertyAnchorIt,
)
from .results_controls_random_init_item_metrics_additional_property_icl_it import (
    ResultsControlsRandomInitItemMetricsAdditionalPropertyIclIt,
)
from .results_document import ResultsDocument
from .results_document_conventions import ResultsDocumentConventions
from .results_document_conventions_metrics import ResultsDocumentConventionsMetrics
from .results_document_conventions_pairs import ResultsDocumentConventionsPairs
from .results_document_metrics_item import ResultsDocumentMetricsItem
from .results_document_spec import ResultsDocumentSpec
from .results_document_statements_item import ResultsDocumentStatementsItem
from .results_factors import ResultsFactors
from .results_family_wise import ResultsFamilyWise
from .results_layer_stats import ResultsLayerStats
from .results_layer_values import ResultsLayerValues
from .results_metric_blocks import ResultsMetricBlocks
from .results_metric_blocks_additional_property import ResultsMetricBlocksAdditionalProperty
from .results_paired_test import ResultsPairedTest
from .results_paired_test_open import ResultsPairedTestOpen
from .results_pairing_test import ResultsPairingTest
from .results_point_stats import ResultsPointStats
from .results_proportion import ResultsProportion
from .results_run import ResultsRun
from .results_run_accuracy import ResultsRunAccuracy
from .results_run_control import ResultsRunControl
from .results_run_it_type_0 import ResultsRunItType0
from .results_run_metrics import ResultsRunMetrics
from .results_run_metrics_additional_property import ResultsRunMetricsAdditionalProperty
from .results_run_precision_type_0 import ResultsRunPrecisionType0
from .results_run_precision_type_0_compute import ResultsRunPrecisionType0Compute
from .results_run_precision_type_0_requested import ResultsRunPrecisionType0Requested
from .results_slice import ResultsSlice
from .results_study import ResultsStudy
from .results_study_cells_item import ResultsStudyCellsItem
from .results_study_primary_metric_type_0 import ResultsStudyPrimaryMetricType0
from .results_study_primary_tests_item import ResultsStudyPrimaryTestsItem
from .results_study_primary_tests_item_a import ResultsStudyPrimaryTestsItemA
from .results_study_primary_tests_item_b import ResultsStudyPrimaryTestsItemB
from .results_study_primary_tests_item_metric import ResultsStudyPrimaryTestsItemMetric
from .results_study_statements import ResultsStudyStatements
from .results_study_tests_item import ResultsStudyTestsItem
from .results_study_tests_item_a import ResultsStudyTestsItemA
from .results_study_tests_item_b import ResultsStudyTestsItemB
from .results_study_tests_item_metric import ResultsStudyTestsItemMetric
from .results_study_trends_item import ResultsStudyTrendsItem
from .results_study_trends_item_metric import ResultsStudyTrendsItemMetric
from .results_study_trends_item_pair import ResultsStudyTrendsItemPair
from .results_table import ResultsTable
from .results_table_rows_item import ResultsTableRowsItem
from .results_trend_test import ResultsTrendTest
from .results_trend_test_direction import ResultsTrendTestDirection
from .results_trend_test_kind import ResultsTrendTestKind
from .results_trend_test_open import ResultsTrendTestOpen
from .results_trend_test_open_direction import ResultsTrendTestOpenDirection
from .results_trend_test_open_kind import ResultsTrendTestOpenKind
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
from .upload_dataset_format import UploadDatasetFormat

__all__ = (
    "Artifact",
    "ArtifactKind",
    "ArtifactList",
    "CausalSpec",
    "Control",
    "Dataset",
    "DatasetKind",
    "DatasetList",
    "DataSpec",
    "DemoSpec",
    "DemoSpecContrast",
    "DemoSpecScope",
    "DemoSpecSelection",
    "DesignRequest",
    "DesignRequestPilotType0",
    "DesignResult",
    "DesignResultComputePilotType0",
    "DesignResultComputeType0",
    "ErrorInfo",
    "Event",
    "EventData",
    "EventList",
    "Experiment",
    "ExperimentList",
    "ExperimentResolvedSpec",
    "ExperimentSpec",
    "ExperimentSpecMetricsItem",
    "ExperimentSpecScale",
    "ExperimentSpecSweep",
    "ExperimentStatus",
    "ExperimentSummary",
    "ExtractionSpec",
    "GetResultsFormat",
    "GetResultsTableType0",
    "Health",
    "HealthChecks",
    "HealthStatus",
    "InferenceSpec",
    "LoraSpec",
    "LoraSpecLossOn",
    "LoraSpecSaveAdapters",
    "Model",
    "ModelList",
    "ModelSpec",
    "ModelSpecDtype",
    "ParseSpecTextBody",
    "ParseSpecTextResponseParseSpecText",
    "PrimaryResult",
    "Problem",
    "ProblemItem",
    "Progress",
    "ResultsCausalCheck",
    "ResultsCausalCheckOwnVsCross",
    "ResultsCausalCheckOwnVsCrossAdapter",
    "ResultsCausalCheckOwnVsCrossAdditionalProperty",
    "ResultsCausalCheckPatched",
    "ResultsCausalCheckPatchedAdditionalProperty",
    "ResultsCausalCheckPatchedAdditionalPropertyCross",
    "ResultsCausalCheckPatchedAdditionalPropertyCrossAdapter",
    "ResultsCausalCheckPatchedAdditionalPropertyOwn",
    "ResultsCausalCheckUnpatched",
    "ResultsCausalCheckUnpatchedAdditionalProperty",
    "ResultsCell",
    "ResultsCellAccuracy",
    "ResultsCellCkaNull",
    "ResultsCellConfig",
    "ResultsCellControl",
    "ResultsCellControlTests",
    "ResultsCellIt",
    "ResultsCellLabelMass",
    "ResultsCellLabelMassAdditionalProperty",
    "ResultsCellPrimaryType1",
    "ResultsCellPrimaryType1DecompositionType1",
    "ResultsControls",
    "ResultsControlsIdentityChecksItem",
    "ResultsControlsRandomInitItem",
    "ResultsControlsRandomInitItemMetrics",
    "ResultsControlsRandomInitItemMetricsAdditionalProperty",
    "ResultsControlsRandomInitItemMetricsAdditionalPropertyAnchorIcl",
    "ResultsControlsRandomInitItemMetricsAdditionalPropertyAnchorIt",
    "ResultsControlsRandomInitItemMetricsAdditionalPropertyIclIt",
    "ResultsDocument",
    "ResultsDocumentConventions",
    "ResultsDocumentConventionsMetrics",
    "ResultsDocumentConventionsPairs",
    "ResultsDocumentMetricsItem",
    "ResultsDocumentSpec",
    "ResultsDocumentStatementsItem",
    "ResultsFactors",
    "ResultsFamilyWise",
    "ResultsLayerStats",
    "ResultsLayerValues",
    "ResultsMetricBlocks",
    "ResultsMetricBlocksAdditionalProperty",
    "ResultsPairedTest",
    "ResultsPairedTestOpen",
    "ResultsPairingTest",
    "ResultsPointStats",
    "ResultsProportion",
    "ResultsRun",
    "ResultsRunAccuracy",
    "ResultsRunControl",
    "ResultsRunItType0",
    "ResultsRunMetrics",
    "ResultsRunMetricsAdditionalProperty",
    "ResultsRunPrecisionType0",
    "ResultsRunPrecisionType0Compute",
    "ResultsRunPrecisionType0Requested",
    "ResultsSlice",
    "ResultsStudy",
    "ResultsStudyCellsItem",
    "ResultsStudyPrimaryMetricType0",
    "ResultsStudyPrimaryTestsItem",
    "ResultsStudyPrimaryTestsItemA",
    "ResultsStudyPrimaryTestsItemB",
    "ResultsStudyPrimaryTestsItemMetric",
    "ResultsStudyStatements",
    "ResultsStudyTestsItem",
    "ResultsStudyTestsItemA",
    "ResultsStudyTestsItemB",
    "ResultsStudyTestsItemMetric",
    "ResultsStudyTrendsItem",
    "ResultsStudyTrendsItemMetric",
    "ResultsStudyTrendsItemPair",
    "ResultsTable",
    "ResultsTableRowsItem",
    "ResultsTrendTest",
    "ResultsTrendTestDirection",
    "ResultsTrendTestKind",
    "ResultsTrendTestOpen",
    "ResultsTrendTestOpenDirection",
    "ResultsTrendTestOpenKind",
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
    "UploadDatasetFormat",
)
