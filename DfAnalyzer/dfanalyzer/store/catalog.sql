-- PROV-Df catalog of DfAnalyzer, one statement per block separated by ';'.
-- Created if missing at every start; never dropped except by `dfanalyzer reset`.
CREATE TABLE IF NOT EXISTS dataflow (
    id BIGINT PRIMARY KEY,
    tag VARCHAR(255) NOT NULL UNIQUE,
    schema_name VARCHAR(255) NOT NULL,
    specification CLOB,
    created_at TIMESTAMP,
    updated_at TIMESTAMP
);
CREATE TABLE IF NOT EXISTS data_transformation (
    id BIGINT PRIMARY KEY,
    df_id BIGINT NOT NULL,
    tag VARCHAR(255) NOT NULL
);
CREATE TABLE IF NOT EXISTS data_set (
    id BIGINT PRIMARY KEY,
    df_id BIGINT NOT NULL,
    tag VARCHAR(255) NOT NULL,
    table_name VARCHAR(255) NOT NULL
);
CREATE TABLE IF NOT EXISTS data_dependency (
    id BIGINT PRIMARY KEY,
    df_id BIGINT NOT NULL,
    ds_id BIGINT NOT NULL,
    previous_dt_id BIGINT,
    next_dt_id BIGINT
);
CREATE TABLE IF NOT EXISTS attribute (
    id BIGINT PRIMARY KEY,
    ds_id BIGINT NOT NULL,
    name VARCHAR(255) NOT NULL,
    column_name VARCHAR(255) NOT NULL,
    type VARCHAR(16) NOT NULL,
    ordinal INT NOT NULL
);
CREATE TABLE IF NOT EXISTS program (
    id BIGINT PRIMARY KEY,
    dt_id BIGINT NOT NULL,
    name VARCHAR(255),
    path CLOB
);
CREATE TABLE IF NOT EXISTS dataflow_execution (
    id BIGINT PRIMARY KEY,
    df_id BIGINT NOT NULL,
    tag VARCHAR(255) NOT NULL,
    start_time TIMESTAMP,
    end_time TIMESTAMP,
    status VARCHAR(16)
);
CREATE TABLE IF NOT EXISTS agent (
    id BIGINT PRIMARY KEY,
    exec_id BIGINT NOT NULL,
    kind VARCHAR(16) NOT NULL,
    name VARCHAR(255) NOT NULL,
    properties CLOB
);
CREATE TABLE IF NOT EXISTS task (
    id BIGINT PRIMARY KEY,
    df_id BIGINT NOT NULL,
    exec_id BIGINT NOT NULL,
    dt_id BIGINT NOT NULL,
    identifier VARCHAR(255) NOT NULL,
    sub_id VARCHAR(255),
    status VARCHAR(16),
    start_time TIMESTAMP,
    end_time TIMESTAMP,
    workspace CLOB,
    resource CLOB,
    output_msg CLOB,
    error_msg CLOB
);
CREATE TABLE IF NOT EXISTS task_dependency (
    task_id BIGINT NOT NULL,
    depends_on_task_id BIGINT NOT NULL
);
CREATE TABLE IF NOT EXISTS file (
    id BIGINT PRIMARY KEY,
    task_id BIGINT NOT NULL,
    name CLOB,
    path CLOB
);
CREATE TABLE IF NOT EXISTS performance (
    id BIGINT PRIMARY KEY,
    task_id BIGINT NOT NULL,
    start_time TIMESTAMP,
    end_time TIMESTAMP,
    duration_seconds DOUBLE
);
CREATE TABLE IF NOT EXISTS non_finite_value (
    table_schema VARCHAR(255) NOT NULL,
    table_name VARCHAR(255) NOT NULL,
    row_id BIGINT NOT NULL,
    column_name VARCHAR(255) NOT NULL,
    value VARCHAR(16) NOT NULL
);
CREATE TABLE IF NOT EXISTS ingested_message (
    id VARCHAR(128) PRIMARY KEY,
    received_at TIMESTAMP
);
CREATE TABLE IF NOT EXISTS model_file (
    id BIGINT PRIMARY KEY,
    task_id BIGINT,
    exec_id BIGINT NOT NULL,
    path CLOB NOT NULL,
    format VARCHAR(32) NOT NULL,
    size_bytes BIGINT,
    sha256 VARCHAR(64),
    created_at TIMESTAMP
);
CREATE TABLE IF NOT EXISTS saved_query (
    id BIGINT PRIMARY KEY,
    name VARCHAR(255) NOT NULL UNIQUE,
    sql CLOB NOT NULL,
    created_at TIMESTAMP
);
CREATE TABLE IF NOT EXISTS execution_liveness (
    exec_id BIGINT PRIMARY KEY,
    listening_since TIMESTAMP,
    last_heard TIMESTAMP,
    learning_rate_schedule VARCHAR(255)
);
CREATE TABLE IF NOT EXISTS steering_action (
    id BIGINT PRIMARY KEY,
    exec_id BIGINT NOT NULL,
    action VARCHAR(32) NOT NULL,
    value DOUBLE,
    note CLOB,
    actor VARCHAR(255) NOT NULL,
    requested_at TIMESTAMP NOT NULL,
    state VARCHAR(16) NOT NULL,
    delivered_at TIMESTAMP,
    applied_at TIMESTAMP,
    applied_epoch DOUBLE,
    old_value DOUBLE,
    new_value DOUBLE,
    task_identifier VARCHAR(255),
    message CLOB
);
