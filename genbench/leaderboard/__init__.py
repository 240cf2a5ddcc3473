"""Static leaderboard site from result files: ranked per protocol fingerprint, plots, tables for papers."""

from genbench.leaderboard.site import BuildSummary, build_leaderboard, export_tables

__all__ = ["BuildSummary", "build_leaderboard", "export_tables"]
