"""The sets keras_prov adds to its dataflow for lineage, per-step and system metrics: their tags
and first columns (documented in docs/keras_prov.md). A leaf module: the dataflow declares them
before anything records into them."""
from keras_prov import code_environment, data_lineage, model_derivation

DATA = "iData"
TEST_DATA = "iTestData"
CODE_ENVIRONMENT = "iCodeEnvironment"
SOURCE_TEXT = "iSourceText"
MODEL_WEIGHTS = "oModelWeights"
DATA_STEPS = "iDataSteps"
TEST_DATA_STEPS = "iTestDataSteps"
STEP_METRICS = "oStepMetrics"
SYSTEM_METRICS = "oSystemMetrics"

STEP_COLUMNS = [("epoch", "NUMERIC"), ("step", "NUMERIC"), ("global_step", "NUMERIC"), ("timestamp", "TEXT"),
                ("elapsed_time", "NUMERIC")]
SYSTEM_COLUMNS = [("timestamp", "TEXT"), ("elapsed_time", "NUMERIC"), ("epoch", "NUMERIC"),
                  ("process_cpu_percent", "NUMERIC"), ("cpu_percent", "NUMERIC"), ("process_rss_bytes", "NUMERIC"),
                  ("memory_percent", "NUMERIC"), ("memory_used_bytes", "NUMERIC"), ("gpu_count", "NUMERIC"),
                  ("gpu_utilization_percent", "NUMERIC"), ("gpu_memory_used_bytes", "NUMERIC")]

# (set, INPUT/OUTPUT, columns)
DATA_STEP_COLUMNS = [("step_dataflow", "TEXT"), ("step_execution", "TEXT"), ("step_task", "TEXT"),
                     ("step_transformation", "TEXT")]
TRAINING_SETS = [(DATA, "INPUT", data_lineage.COLUMNS), (DATA_STEPS, "INPUT", DATA_STEP_COLUMNS),
                 (CODE_ENVIRONMENT, "INPUT", code_environment.COLUMNS),
                 (SOURCE_TEXT, "INPUT", code_environment.TEXT_COLUMNS),
                 (MODEL_WEIGHTS, "OUTPUT", model_derivation.COLUMNS), (STEP_METRICS, "OUTPUT", STEP_COLUMNS),
                 (SYSTEM_METRICS, "OUTPUT", SYSTEM_COLUMNS)]
TESTING_SETS = [(TEST_DATA, "INPUT", data_lineage.COLUMNS), (TEST_DATA_STEPS, "INPUT", DATA_STEP_COLUMNS)]
