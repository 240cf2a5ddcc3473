"""Static leaderboard site from result files: ranked per protocol fingerprint, plots, tables for papers."""

from genbench.leaderboard.site import (BuildSummary, Unreadable, build_leaderboard, export_tables, load_records,
                                       tables_text)

__all__ = ["BuildSummary", "Unreadable", "build_leaderboard", "export_tables", "load_records", "tables_text"]
