"""Path queries over a dataflow's specification, as the original DfAnalyzer's Query Interface
offered them: pick source and target sets, and the service joins every set on the paths between
them physically (on the task that linked two sets), logically (on same-named attributes) or both.

    from dfanalyzer.path_query import PathQuery, build_path_sql, parse_program
"""
from dfanalyzer.path_query.builder import PathSql, build_path_sql
from dfanalyzer.path_query.program import parse_program
from dfanalyzer.path_query.request import MAPPINGS, PathQuery

__all__ = ["MAPPINGS", "PathQuery", "PathSql", "build_path_sql", "parse_program"]
